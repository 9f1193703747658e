"""Reminder rules, the working-day calendar's overrides, sweep runs, e-mail deliveries,
numbered 催办单 and the month-end circular."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import User

ITEM_TYPES = {
    "assignment": "清单事项",
    "rectification": "整改事项",
    "checklist": "检查清单项",
    "indicator": "质效指标",
}
RULE_KINDS = {
    "due_soon": "临期提醒",
    "overdue": "逾期催办",
    "escalate": "督办（上报交办单位）",
    "escalate_high": "督办（上报高院）",
    "review_waiting": "待审核提醒",
    "out_of_range": "质效预警",
}


class ReminderRule(db.Model):
    """One rule of the sweep. `days`: before the deadline (due_soon), after it (overdue,
    escalations), or since submission (review_waiting). `repeat_every`: overdue repeats."""

    __tablename__ = "reminder_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(String(15))
    kind: Mapped[str] = mapped_column(String(15))
    days: Mapped[int] = mapped_column(Integer)
    repeat_every: Mapped[int | None] = mapped_column(Integer)
    working_days: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def label(self) -> str:
        unit = "个工作日" if self.working_days else "天"
        text = {
            "due_soon": f"到期前 {self.days} {unit}",
            "overdue": f"逾期 {self.days} {unit}起"
            + (f"，每 {self.repeat_every} 天重复" if self.repeat_every else ""),
            "escalate": f"逾期 {self.days} {unit}上报交办单位",
            "escalate_high": f"逾期 {self.days} {unit}上报高院",
            "review_waiting": f"待审核超过 {self.days} {unit}",
            "out_of_range": f"连续 {self.days} 个月不在参考区间内预警（告知本院及上级法院，每次偏离只告知一次）",
        }[self.kind]
        return f"{ITEM_TYPES.get(self.item_type, self.item_type)} · {text}"


class CalendarOverride(db.Model):
    """An admin's correction of the statutory calendar: this day is (not) a working day."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(100))


class SweepRun(db.Model):
    __tablename__ = "sweep_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(20), default="sweep")  # sweep / digest / weekly / circular
    as_of: Mapped[date] = mapped_column(Date, index=True)
    trigger: Mapped[str] = mapped_column(String(20))  # scheduler / cli / web
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict | None] = mapped_column(JSON)
    errors: Mapped[list | None] = mapped_column(JSON)


class SweepMark(db.Model):
    """One reminder sent: a rule, an item and its period — the day for a repeating overdue
    reminder, the deadline for the due-soon bands and the escalations, the (local) day of
    submission for review. Unique: the run whose INSERT gets in first sends it, listed in
    that run's digests; every other run skips it. `run_id` is NULL for the reminders sent
    one per item before the digests (copied from the notifications by the migration)."""

    __tablename__ = "sweep_marks"
    __table_args__ = (
        UniqueConstraint("rule_id", "subject_type", "subject_id", "period"),
        Index("ix_sweep_marks_rule_day", "rule_id", "day"),  # the overdue repeat window
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    subject_type: Mapped[str] = mapped_column(String(30))  # Assignment / ChecklistEntry
    subject_id: Mapped[int]
    period: Mapped[str] = mapped_column(String(12))  # 2026-12-08 / d2026-12-24 / s2026-12-03
    day: Mapped[date] = mapped_column(Date)  # the as-of day of the run that sent it
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sweep_runs.id"))


class SweepDigest(db.Model):
    """A sweep notification that covers several items: how many, and the first few (the
    most urgent) with what their links need, so the notification centre lists them."""

    __tablename__ = "sweep_digests"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    item_type: Mapped[str] = mapped_column(String(15))  # the rule's: assignment / rectification / checklist
    total: Mapped[int] = mapped_column(Integer)
    # [{"type": "Assignment", "id": 7, "checklist": null, "title": "…", "days": 4, "unit": "…"}, …]
    items: Mapped[list] = mapped_column(JSON)


class Delivery(db.Model):
    """An e-mail to send for a notification: immediately, or in the person's daily digest."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_mode", "status", "mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), unique=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mode: Mapped[str] = mapped_column(String(10))  # immediate / digest
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending / sent / failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class UrgeNotice(db.Model):
    """催办单: a formal, numbered reminder on overdue items, whose reading is recorded."""

    __tablename__ = "urge_notices"
    __table_args__ = (UniqueConstraint("sender_unit_id", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    sender_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    sender: Mapped[User] = relationship()
    items: Mapped[list[UrgeNoticeItem]] = relationship(cascade="all, delete-orphan")


class UrgeNoticeItem(db.Model):
    __tablename__ = "urge_notice_items"

    notice_id: Mapped[int] = mapped_column(ForeignKey("urge_notices.id"), primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), primary_key=True, index=True)


class UrgeReceipt(db.Model):
    """Who a 催办单 went to, and when each of them read it."""

    __tablename__ = "urge_receipts"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("urge_notices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class Circular(db.Model):
    """月末通报: a draft made by the scheduler at month end, edited and issued by a reviewer."""

    __tablename__ = "circulars"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft / issued
    created_at: Mapped[datetime]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}
