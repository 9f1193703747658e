"""Projects, their task lists, and the assignments that carry each item to a unit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import Unit, User
from app.timeutil import utcnow

STATUSES = {
    "pending": "待签收",
    "in_progress": "承办中",
    "submitted": "待审核",
    "closed": "已办结",
    "returned": "已退回",
}
OPEN_STATUSES = ("pending", "in_progress", "submitted", "returned")
PRIORITIES = {"high": "高", "normal": "中", "low": "低"}
DEADLINE_KINDS = {"date": "按日期", "ongoing": "长期坚持", "recurring": "周期性"}
RECURRENCES = {"monthly": "每月", "quarterly": "每季度", "halfyear": "每半年"}


class Category(db.Model):
    """The editable list of item categories."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner_unit: Mapped[Unit] = relationship()
    __mapper_args__ = {"version_id_col": version}


class Task(db.Model):
    """One item of a task list (清单事项)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # task: a list item of a project; rectification: 整改事项 from a visit's finding
    kind: Mapped[str] = mapped_column(String(15), default="task")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the assigning unit
    verifier_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id"), index=True
    )  # rectifications: who 销号
    title: Mapped[str] = mapped_column(String(200))
    requirements: Mapped[str | None] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    lead_leader: Mapped[str | None] = mapped_column(String(50))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    deadline_kind: Mapped[str] = mapped_column(String(10), default="date")
    deadline: Mapped[date | None] = mapped_column(Date)
    recurrence: Mapped[str | None] = mapped_column(String(10))  # recurring tasks
    report_every: Mapped[str | None] = mapped_column(String(10))  # ongoing tasks
    notes: Mapped[str | None] = mapped_column(Text)
    source_key: Mapped[str | None] = mapped_column(String(64))  # import dedupe
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project | None] = relationship()
    owner_unit: Mapped[Unit] = relationship()
    category: Mapped[Category | None] = relationship()
    verifier: Mapped[User | None] = relationship(foreign_keys=[verifier_id])
    cooperators: Mapped[list[TaskCooperator]] = relationship(cascade="all, delete-orphan")
    __mapper_args__ = {"version_id_col": version}

    @property
    def is_rectification(self) -> bool:
        return self.kind == "rectification"

    @property
    def context_label(self) -> str:
        """What the item belongs to: its project, or the visit that found the problem."""
        if self.project is not None:
            return self.project.name
        return "督导整改"

    @property
    def deadline_label(self) -> str:
        if self.deadline_kind == "ongoing":
            every = RECURRENCES.get(self.report_every or "", "")
            return "长期坚持" + (f"（{every}报送）" if every else "")
        if self.deadline_kind == "recurring":
            return RECURRENCES.get(self.recurrence or "", "周期性")
        return self.deadline.isoformat() if self.deadline else ""


class TaskCooperator(db.Model):
    """配合单位: units that cooperate on an item without being responsible for it."""

    __tablename__ = "task_cooperators"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    unit: Mapped[Unit] = relationship()


# The assignment list's default order (no deadline last), then what its scope and status
# filters read: the two list indexes below cover the list and its count.
LIST_ORDER_COLUMNS = (
    text("(deadline IS NULL)"),
    "deadline",
    "id",
    "unit_id",
    "assigned_by_unit_id",
    "status",
)


class Assignment(db.Model):
    """An item assigned to one responsible unit (or a period of a recurring item)."""

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_unit_status_deadline", "unit_id", "status", "deadline"),
        Index("ix_assignments_by_unit_status", "assigned_by_unit_id", "status", "unit_id"),
        Index("ix_assignments_status_deadline", "status", "deadline"),
        # The list in its default order (no deadline last), covering the scope and status
        # filters and the count: page 1 and page 200 read this index only.
        Index("ix_assignments_list", *LIST_ORDER_COLUMNS),
        # The same for open items only (overdue, due soon, 待办): a sixth of the rows.
        Index(
            "ix_assignments_open",
            *LIST_ORDER_COLUMNS,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        # The open top-level items by deadline, with what their 红黄绿灯 need: the
        # roll-ups count those due from this month on live (app.dashboard.tallies).
        Index(
            "ix_assignments_open_due",
            "deadline",
            "unit_id",
            "progress",
            "created_at",
            sqlite_where=text("status != 'closed' AND parent_id IS NULL"),
            postgresql_where=text("status != 'closed' AND parent_id IS NULL"),
        ),
        # Splits only: a full index on parent_id led SQLite to read every top-level item
        # through it for "parent_id IS NULL" (the roll-ups); `parent_id = ?` still uses it.
        Index(
            "ix_assignments_parent_id",
            "parent_id",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
        UniqueConstraint("task_id", "unit_id", "period_label", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    assigned_by_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    period_label: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    deadline: Mapped[date | None] = mapped_column(Date)  # effective (after extensions)
    original_deadline: Mapped[date | None] = mapped_column(Date)
    progress_override: Mapped[int | None] = mapped_column(Integer)  # set by a report's percent
    progress: Mapped[int] = mapped_column(Integer, default=0)  # kept in step with the facts
    responsible_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    acknowledged_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_on: Mapped[date | None] = mapped_column(Date)  # local date of closing, for on-time
    last_report_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    task: Mapped[Task] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    assigned_by_unit: Mapped[Unit] = relationship(foreign_keys=[assigned_by_unit_id])
    parent: Mapped[Assignment | None] = relationship(remote_side=[id])
    responsible_user: Mapped[User | None] = relationship()
    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


class AssignmentPair(db.Model):
    """How many items one unit assigned to another, one row per pair, kept by database
    triggers on `assignments` in the same transaction as every insert, delete and change
    of either unit (migration 0022_assignment_pairs), so it is exact. A few hundred rows
    a province: the policy asks them which units outside a subtree hold items assigned
    from inside it (`app.authz._scope_sets_statement`) instead of reading every item the
    subtree assigned. A pair whose items all went elsewhere stays with n = 0."""

    __tablename__ = "assignment_pairs"
    __table_args__ = {"sqlite_with_rowid": False}

    assigned_by_unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class AssignmentStep(db.Model):
    """A dated milestone or a tickable checklist item of one assignment."""

    __tablename__ = "assignment_steps"
    # issue 15, the calendar: milestones due in a month, counted from the steps' side
    # (without it SQLite read every item of the user's subtree to probe its steps).
    __table_args__ = (Index("ix_assignment_steps_kind_due", "kind", "due", "assignment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # milestone / check
    title: Mapped[str] = mapped_column(String(200))
    due: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class ProgressReport(db.Model):
    """进度反馈: text, a percent, evidence files."""

    __tablename__ = "progress_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    percent: Mapped[int | None] = mapped_column(Integer)
    submitted: Mapped[bool] = mapped_column(Boolean, default=False)  # sent for review
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()


class ExtensionRequest(db.Model):
    """延期申请: asked before the deadline; granted (new deadline, original kept) or refused."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    current_deadline: Mapped[date | None] = mapped_column(Date)
    requested_deadline: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending/granted/refused
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])


class CompletionReview(db.Model):
    """The high court's 审核确认 (or return) of one court's completion list."""

    __tablename__ = "completion_reviews"
    __table_args__ = (
        Index("ix_completion_reviews_unit", "unit_id", "project_id", "period_from", "period_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    decision: Mapped[str] = mapped_column(String(10))  # confirmed / returned
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()


# Links between items of one project (issue 15). "depends": from_task waits for to_task
# (its 前置事项); "related": stored once (lower id first), shown on both items.
LINK_KINDS = {"depends": "依赖", "related": "相关"}


class TaskLink(db.Model):
    """依赖/相关 between two items of the same project: one link per pair, never an
    item to itself, no cycle of dependencies (app/tasks/links.py checks it in SQL)."""

    __tablename__ = "task_links"
    __table_args__ = (
        UniqueConstraint("from_task_id", "to_task_id"),
        CheckConstraint("from_task_id <> to_task_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))  # served by the unique index
    to_task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
