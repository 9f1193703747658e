"""Milestone checklists: versioned templates, applied to units, ticked and verified."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import Unit, User
from app.timeutil import utcnow

ENTRY_STATUSES = {"missing": "未完成", "claimed": "待核验", "verified": "已核验", "rejected": "已驳回"}


class ChecklistTemplate(db.Model):
    """One version of a standard (e.g. 人民法庭“五化”建设标准 v2). `family` ties the versions."""

    __tablename__ = "checklist_templates"
    __table_args__ = (UniqueConstraint("family", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft / published
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]

    sections: Mapped[list[TemplateSection]] = relationship(
        cascade="all, delete-orphan", order_by="TemplateSection.sort_order"
    )
    items: Mapped[list[TemplateItem]] = relationship(
        cascade="all, delete-orphan", order_by="TemplateItem.sort_order"
    )


class TemplateSection(db.Model):
    __tablename__ = "template_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class TemplateItem(db.Model):
    __tablename__ = "template_items"
    __table_args__ = (UniqueConstraint("template_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("template_sections.id"))
    code: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    due_offset_days: Mapped[int | None] = mapped_column(Integer)  # from the date the template is applied
    due_date: Mapped[date | None] = mapped_column(Date)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    section: Mapped[TemplateSection] = relationship()


class Checklist(db.Model):
    """A template applied to one unit. Re-applying a newer version makes a new one."""

    __tablename__ = "checklists"
    __table_args__ = (Index("ix_checklists_unit_current", "unit_id", "is_current"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_templates.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    family: Mapped[str] = mapped_column(String(50))
    due: Mapped[date] = mapped_column(Date)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    applied_by_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    applied_at: Mapped[datetime]
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)

    template: Mapped[ChecklistTemplate] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])


class ChecklistEntry(db.Model):
    __tablename__ = "checklist_entries"
    __table_args__ = (
        UniqueConstraint("checklist_id", "code"),
        Index("ix_checklist_entries_status_due", "status", "due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("checklists.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("template_items.id"))
    code: Mapped[str] = mapped_column(String(20))
    section: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    evidence_required: Mapped[bool] = mapped_column(Boolean, default=False)
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="missing")
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)

    checklist: Mapped[Checklist] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return ENTRY_STATUSES.get(self.status, self.status)
