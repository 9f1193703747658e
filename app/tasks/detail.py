"""Reads for one assignment as its page shows it: the splits the user may see, its
steps and extension requests, and its history (办理记录) a page at a time, newest
first — the journal of the assignment, of its item and of its extension requests
(the page's timeline) and its
progress reports (反馈记录), merged in SQL, two statements however long the history is."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, and_, func, literal_column, or_, select, union_all
from sqlalchemy.orm import contains_eager, joinedload, lazyload

from app import attachments, authz
from app.attachments import Attachment
from app.extensions import db
from app.journal import JournalEntry
from app.org.models import Unit, User
from app.tasks import links
from app.tasks.models import Assignment, AssignmentStep, ExtensionRequest, ProgressReport, Task
from app.visits.models import Finding, Visit

JOURNAL, REPORT = "journal", "report"


def splits(a: Assignment, user: Any) -> list[Assignment]:
    """The assignments `a` was split into (分解到下级单位) that `user` may see, by unit."""
    stmt = (
        select(Assignment)
        .join(Unit, Unit.id == Assignment.unit_id)
        .options(contains_eager(Assignment.unit))
        .where(Assignment.parent_id == a.id)
    )
    return list(db.session.scalars(authz.scope(stmt, Assignment, user).order_by(Unit.sort_order, Unit.id)))


def visit_of(a: Assignment) -> Visit | None:
    """The visit whose finding a rectification answers (its page links back to it);
    None for any other item, without a query."""
    if a.task.kind != "rectification":
        return None
    return db.session.scalar(
        select(Visit).join(Finding, Finding.visit_id == Visit.id).where(Finding.task_id == a.task_id)
    )


def steps(a: Assignment) -> list[AssignmentStep]:
    """Milestones and checklist items (里程碑与检查项), in their order."""
    stmt = (
        select(AssignmentStep)
        .where(AssignmentStep.assignment_id == a.id)
        .order_by(AssignmentStep.sort_order, AssignmentStep.id)
    )
    return list(db.session.scalars(stmt))


def extension_requests(a: Assignment) -> list[ExtensionRequest]:
    """Its extension requests, oldest first, with who asked (one statement)."""
    stmt = (
        select(ExtensionRequest)
        .options(joinedload(ExtensionRequest.requested_by).lazyload(User.role_rows))
        .where(ExtensionRequest.assignment_id == a.id)
        .order_by(ExtensionRequest.id)
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- the page /assignments/<id>
#
# The page shows the whole history (every report and journal line); these reads keep
# its statement count fixed however long that history grows.


def load_page(a: Assignment, user: Any) -> tuple[list[Assignment], list[links.Other]]:
    """The item, its units and project on `a`, the assignments it was split into (each
    with its unit), and the item's predecessors not done yet (the page's warning), in
    one statement; returns the splits, by id — all of them, as the page has always
    listed them (the API's `splits` scopes them to the user) — and the predecessors."""
    stmt = (
        select(Assignment)
        .options(
            joinedload(Assignment.task).joinedload(Task.project),
            joinedload(Assignment.unit),
            joinedload(Assignment.assigned_by_unit),
        )
        .where(or_(Assignment.id == a.id, Assignment.parent_id == a.id))
    )
    stmt, w = links.join_waiting(stmt, a.task_id, user)
    rows = db.session.execute(stmt.order_by(Assignment.id, w.c.id)).unique().all()
    children: dict[int, Assignment] = {}
    waiting: dict[int, links.Other] = {}
    for row, pid, title, open_units, assigned in rows:
        if row.id != a.id:
            children.setdefault(row.id, row)
        if pid is not None:
            waiting.setdefault(pid, links.Other(pid, title, open_units or 0, bool(assigned)))
    return list(children.values()), list(waiting.values())


def reports(a: Assignment) -> list[ProgressReport]:
    """Every progress report, newest first, with its author (one statement)."""
    stmt = (
        select(ProgressReport)
        .options(joinedload(ProgressReport.author).lazyload(User.role_rows))
        .where(ProgressReport.assignment_id == a.id)
        .order_by(ProgressReport.created_at.desc())
    )
    return list(db.session.scalars(stmt))


def timeline(a: Assignment) -> tuple[list[JournalEntry], dict[int, User]]:
    """The journal of the assignment and of its item, oldest first, and the users who
    wrote it by id (one statement)."""
    rows = db.session.execute(
        select(JournalEntry, User)
        .outerjoin(User, User.id == JournalEntry.actor_id)
        .options(lazyload(User.role_rows))
        .where(_journal_of(a))
        .order_by(JournalEntry.at, JournalEntry.id)
    ).all()
    return [entry for entry, _ in rows], {user.id: user for _, user in rows if user is not None}


def files(a: Assignment, reports: list[ProgressReport], steps: list[AssignmentStep]) -> tuple[dict, dict]:
    """The files of its reports and of its steps ({id: [attachment]} each), one statement."""
    stmt = (
        select(Attachment)
        .where(
            or_(
                and_(
                    Attachment.owner_type == "ProgressReport",
                    Attachment.owner_id.in_(
                        select(ProgressReport.id).where(ProgressReport.assignment_id == a.id)
                    ),
                ),
                and_(
                    Attachment.owner_type == "AssignmentStep",
                    Attachment.owner_id.in_(
                        select(AssignmentStep.id).where(AssignmentStep.assignment_id == a.id)
                    ),
                ),
            )
        )
        .order_by(Attachment.id)
    )
    by_report: dict[int, list[Attachment]] = {r.id: [] for r in reports}
    by_step: dict[int, list[Attachment]] = {s.id: [] for s in steps}
    for att in db.session.scalars(stmt):
        owners = by_report if att.owner_type == "ProgressReport" else by_step
        owners.setdefault(att.owner_id, []).append(att)
    return by_report, by_step


@dataclass
class HistoryEntry:
    """One line of the history: a journal entry or a progress report."""

    kind: str  # JOURNAL / REPORT
    at: datetime
    actor_id: int | None
    actor: str | None  # the display name
    journal: JournalEntry | None = None
    report: ProgressReport | None = None


@dataclass
class HistoryPage:
    entries: list[HistoryEntry]
    total: int
    page: int
    per_page: int
    files: dict[int, list[Attachment]] = field(default_factory=dict)  # report id → its files

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


def _journal_of(a: Assignment):
    """The journal lines of the assignment, of its item and of its extension requests
    (asked, granted, refused: hand-offs between the two sides like the others)."""
    return or_(
        and_(JournalEntry.object_type == "Assignment", JournalEntry.object_id == a.id),
        and_(JournalEntry.object_type == "Task", JournalEntry.object_id == a.task_id),
        and_(
            JournalEntry.object_type == "ExtensionRequest",
            JournalEntry.object_id.in_(
                select(ExtensionRequest.id).where(ExtensionRequest.assignment_id == a.id)
            ),
        ),
    )


def _merged(a: Assignment) -> Subquery:
    """(kind, id, at) of every line of the history."""
    journal = select(
        literal_column(f"'{JOURNAL}'").label("kind"),
        JournalEntry.id.label("id"),
        JournalEntry.at.label("at"),
    ).where(_journal_of(a))
    reports = select(
        literal_column(f"'{REPORT}'").label("kind"),
        ProgressReport.id.label("id"),
        ProgressReport.created_at.label("at"),
    ).where(ProgressReport.assignment_id == a.id)
    return union_all(journal, reports).subquery("history")


def history_page(a: Assignment, page: int, per_page: int) -> HistoryPage:
    """One page of the assignment's history, newest first (a report before the status
    change it caused, which has the same time). One statement for the page — its lines,
    their authors' names and the total (a window count, taken before LIMIT) — and one
    for the files of its reports."""
    merged = _merged(a)
    rows = db.session.execute(
        select(merged.c.kind, JournalEntry, ProgressReport, User.display_name, func.count().over())
        .select_from(merged)
        .outerjoin(JournalEntry, and_(merged.c.kind == JOURNAL, JournalEntry.id == merged.c.id))
        .outerjoin(ProgressReport, and_(merged.c.kind == REPORT, ProgressReport.id == merged.c.id))
        .outerjoin(User, User.id == func.coalesce(JournalEntry.actor_id, ProgressReport.author_id))
        .order_by(merged.c.at.desc(), merged.c.kind.desc(), merged.c.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    entries = []
    for kind, journal, report, name, _ in rows:
        if kind == JOURNAL:
            entries.append(HistoryEntry(JOURNAL, journal.at, journal.actor_id, name, journal=journal))
        else:
            entries.append(HistoryEntry(REPORT, report.created_at, report.author_id, name, report=report))
    if rows:
        total = rows[0][-1]
    else:  # past the last page (or no history at all): the window had no row to count on
        total = 0 if page == 1 else db.session.scalar(select(func.count()).select_from(merged)) or 0
    report_ids = [e.report.id for e in entries if e.report is not None]
    return HistoryPage(
        entries=entries,
        total=total,
        page=page,
        per_page=per_page,
        files=attachments.for_owner("ProgressReport", report_ids),
    )
