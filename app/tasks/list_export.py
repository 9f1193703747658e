"""The assignment list (事项承办) as XLSX: every row of the filtered list, in the list's
order, with no cap. Rows are fetched `EXPORT_BATCH` at a time and written through the
one XLSX writer in write-only mode (each row goes to a temporary file as it is
written), and the finished workbook is a temporary file the response sends in chunks:
memory holds one batch, whatever the length of the list."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, fields
from datetime import date
from typing import IO, Any
from urllib.parse import quote

from flask import Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from app.deadlines import DUE_LABELS, LIGHTS, due_state, traffic_light
from app.exports.xlsx import Book, Column, period_text
from app.extensions import db
from app.org.models import Unit, User
from app.tasks.models import STATUSES, Assignment, Project, Task
from app.tasks.queries import AssignmentFilters
from app.timeutil import fmt_datetime, to_local

EXPORT_BATCH = 1000  # rows fetched per round trip (tests lower it to cross batches)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024

# Widths chosen for the printed page: the sheet is fit to one landscape A4 page wide,
# so every character of width makes the print smaller; long texts wrap in their cells.
COLUMNS = [
    Column("编号", 8),
    Column("项目", 18),
    Column("任务名称", 32),
    Column("工作要求", 32),
    Column("责任单位", 24),
    Column("交办单位", 22),
    Column("责任人", 10),
    Column("周期", 12),
    Column("完成时限", 12),
    Column("原定时限", 12),
    Column("状态", 9),
    Column("时限状态", 9),
    Column("红黄绿灯", 9),
    Column("进度%", 7),
    Column("最近反馈", 17),
    Column("办结日期", 12),
]


def period_of(f: AssignmentFilters) -> str | None:
    """The list's period for the sheet's title row: its deadline filter, if any."""
    span = period_text(f.deadline_from, f.deadline_to)
    return f"完成时限{span}" if span else None


def _row_query(stmt: Select) -> Select:
    """The list's query (its joins, filters and order kept) reading only the columns the
    sheet shows, plus the assigning unit's and the responsible person's names: plain
    rows, no ORM objects (at 150,000 rows, building objects took most of the time)."""
    by_unit = aliased(Unit, name="export_by_unit")  # the list already joins the responsible unit
    person = aliased(User, name="export_person")
    return (
        stmt.with_only_columns(
            Assignment.id,
            Project.name.label("project"),
            Task.title,
            Task.requirements,
            Unit.name.label("unit"),
            by_unit.name.label("by_unit"),
            person.display_name.label("person"),
            Assignment.period_label,
            Assignment.deadline,
            Assignment.original_deadline,
            Assignment.status,
            Assignment.progress,
            Assignment.created_at,
            Assignment.last_report_at,
            Assignment.closed_on,
        )
        .join(by_unit, by_unit.id == Assignment.assigned_by_unit_id)
        .outerjoin(person, person.id == Assignment.responsible_user_id)
    )


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def rows(found: Iterable[Any], today: date) -> Iterator[list]:
    """One sheet row per row of `_row_query` (unpacked: reading a row's attributes by
    name costs more than all the rest); the states derived as `light()` and
    `traffic_light_of()` derive them for an assignment."""
    for (
        id_,
        project,
        title,
        requirements,
        unit,
        by_unit,
        person,
        period_label,
        deadline,
        original_deadline,
        status,
        progress,
        created_at,
        last_report_at,
        closed_on,
    ) in found:
        closed = status == "closed"
        start = to_local(created_at).date() if created_at else None
        yield [
            id_,
            project or "督导整改",  # as Task.context_label: a rectification has no project
            title,
            requirements or "",
            unit,
            by_unit,
            person or "",
            period_label or "",
            _day(deadline),
            _day(original_deadline),
            STATUSES.get(status, status),
            DUE_LABELS[due_state(deadline, closed, today)],
            LIGHTS[traffic_light(deadline, closed, today, progress=progress or 0, start=start)],
            progress,
            fmt_datetime(last_report_at),
            _day(closed_on),
        ]


def write(
    stmt: Select,
    out: IO[bytes],
    *,
    title: str,
    today: date,
    counted: Callable[[Iterator[list]], Iterator[list]] | None = None,
    period: str | None = None,
) -> int:
    """Write every assignment of `stmt` (the list's query) to `out`; return how many.
    `counted` wraps the rows on their way to the sheet (a job's progress); `period`
    (`period_of(filters)`) goes into the title row."""
    found = db.session.execute(_row_query(stmt).execution_options(yield_per=EXPORT_BATCH))
    book = Book(title, period=period, as_of=today, write_only=True)
    sheet_rows = rows(found, today)
    count = book.sheet("事项承办", COLUMNS, counted(sheet_rows) if counted else sheet_rows)
    book.save(out)
    return count


def spooled(stmt: Select, *, title: str, today: date, period: str | None = None) -> tuple[IO[bytes], int]:
    """The workbook in a temporary file, rewound, and the number of rows in it."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    try:
        count = write(stmt, tmp, title=title, today=today, period=period)
    except BaseException:
        tmp.close()
        raise
    tmp.seek(0)
    return tmp, count


def file_name(title: str, today: date) -> str:
    return f"{title}-{today.isoformat()}.xlsx"


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := file.read(CHUNK):
            yield chunk
    finally:
        file.close()  # sent, or the client hung up (the server closes the iterator)


def download(file: IO[bytes], name: str) -> Response:
    """The spooled workbook as an attachment, sent in chunks; its temporary file is
    closed as soon as the last chunk is out, whoever reads the answer."""
    size = os.fstat(file.fileno()).st_size
    return Response(
        _chunks(file),
        mimetype=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Content-Length": str(size),
        },
        direct_passthrough=True,
    )


# ---------------------------------------------------------------- large lists: a job


def more_than(ids: Select, limit: int) -> bool:
    """The list (its narrow ids query) has more than `limit` rows: counted no further
    than limit + 1."""
    return count_rows(ids.order_by(None).limit(limit + 1)) > limit


def count_rows(ids: Select) -> int:
    """How many rows the list has (its narrow ids query, counted whole)."""
    return db.session.scalar(select(func.count()).select_from(ids.order_by(None).subquery()))


def filters_params(f: AssignmentFilters) -> dict[str, Any]:
    """The list's filters as the job's (JSON) parameters."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(f).items()}


def filters_from_params(params: dict[str, Any]) -> AssignmentFilters:
    dates = {"deadline_from", "deadline_to"}
    known = {fl.name for fl in fields(AssignmentFilters)}
    return AssignmentFilters(
        **{k: (date.fromisoformat(v) if k in dates and v else v) for k, v in params.items() if k in known}
    )
