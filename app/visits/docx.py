"""A visit report as a Word file: the facts, numbered sections, the rectification table
and the visit's photos, laid out by the one DOCX writer (app.exports.docx: A4, GB/T 9704
margins, 仿宋, column widths fitted to the text)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from app import attachments
from app.deadlines import due_state
from app.tasks.models import Assignment
from app.timeutil import fmt_date_cn
from app.visits.models import Finding, Visit

if TYPE_CHECKING:
    from app.exports.docx import Report

SOLVED_LABEL = "现场解决的问题（帮助解决“急难愁盼”问题）"


def date_range_cn(start: date | None, end: date | None) -> str:
    """2026年3月2日, or 2026年3月2日至3月4日 for a visit over several days."""
    if start is None:
        return ""
    if end is None or end == start:
        return fmt_date_cn(start)
    tail = f"{end.month}月{end.day}日" if end.year == start.year else fmt_date_cn(end)
    return f"{fmt_date_cn(start)}至{tail}"


def visit_dates(visit: Visit) -> str:
    if visit.actual_start:
        return date_range_cn(visit.actual_start, visit.actual_end)
    return date_range_cn(visit.planned_start, visit.planned_end) + "（计划）"


def rectification_status(a: Assignment, today: date) -> str:
    overdue = due_state(a.deadline, a.status == "closed", today) == "overdue"
    return ("已销号" if a.status == "closed" else a.status_label) + ("（逾期）" if overdue else "")


def visit_report(visit: Visit, findings: Sequence[tuple[Finding, Assignment]], *, today: date) -> bytes:
    """The visit report (.docx bytes): facts, the four narrative sections, findings table."""
    from app.exports.docx import Report  # python-docx only where a document is written

    doc = Report()
    doc.title(f"{visit.organizer_unit.name}督导走访情况报告")
    doc.paragraph(visit.title, align="center")
    facts = [
        ("走访类型", visit.kind.name),
        ("时间", visit_dates(visit)),
        ("地点（对象单位）", "、".join(t.unit.name for t in visit.targets)),
        ("带队领导", "、".join(v.user.display_name for v in visit.leaders)),
        ("参加人员", visit.team or "—"),
        ("组织单位", visit.organizer_unit.name),
    ]
    doc.table(("项目", "内容"), facts)
    sections = [
        ("一、调研内容", visit.topics),
        ("二、走访情况", visit.summary if visit.status == "done" else "尚未记录走访情况（计划中）。"),
        ("三、意见建议", visit.suggestions),
        (f"四、{SOLVED_LABEL}", visit.solved_on_spot),
    ]
    for heading, text in sections:
        doc.heading(heading)
        doc.body(text)
    doc.heading("五、发现问题及整改要求")
    rows = [
        (
            str(i),
            f.unit.name,
            f.description,
            fmt_date_cn(a.deadline),
            a.task.verifier.display_name if a.task.verifier else "",
            rectification_status(a, today),
        )
        for i, (f, a) in enumerate(findings, 1)
    ]
    if rows:
        doc.table(("序号", "责任单位", "发现的问题", "整改时限", "核验人", "办理状态"), rows)
    else:
        doc.body("本次走访未发现需要整改的问题。")
    _photos(doc, visit)
    doc.paragraph(f"{visit.organizer_unit.name}\n{fmt_date_cn(today)}", align="right", space_before=24)
    return doc.to_bytes()


def _photos(doc: Report, visit: Visit) -> None:
    """六、走访照片: every image attached to the visit, as wide as the text, captioned with
    its file name; other files are left out, and a photo that cannot be read (a damaged
    file, a file gone from the disk) leaves a note in its place."""
    photos = [f for f in attachments.for_owner("Visit", [visit.id])[visit.id] if f.is_image]
    if not photos:
        return
    doc.heading("六、走访照片")
    for n, photo in enumerate(photos, 1):
        caption = f"图{n}　{photo.original_name}"
        try:
            data = attachments.path_of(photo).read_bytes()
        except OSError:
            doc.paragraph(f"（{caption}：照片文件缺失，未能插入。）", size=12, align="center")
            continue
        doc.picture(data, caption=caption)
