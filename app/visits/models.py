"""Supervisory visits (督导走访), their findings, and leaders' pairings (联系点)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import Unit, User
from app.timeutil import utcnow

VISIT_STATUSES = {"planned": "计划中", "done": "已完成"}
KIND_NAME_MAX = 30


class VisitKind(db.Model):
    """The list of visit kinds (调研走访, 蹲点指导, 巡回督导 …), kept by the 系统管理员. A
    retired kind (is_active false) stays on the visits already of it and is not offered
    for new ones."""

    __tablename__ = "visit_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(KIND_NAME_MAX), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Visit(db.Model):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_organizer_status", "organizer_unit_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("visit_kinds.id"))
    organizer_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(200))
    planned_start: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date] = mapped_column(Date)
    actual_start: Mapped[date | None] = mapped_column(Date)
    actual_end: Mapped[date | None] = mapped_column(Date)
    team: Mapped[str | None] = mapped_column(String(500))  # other members, by name
    topics: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    suggestions: Mapped[str | None] = mapped_column(Text)
    solved_on_spot: Mapped[str | None] = mapped_column(Text)  # 帮助解决“急难愁盼”问题
    status: Mapped[str] = mapped_column(String(10), default="planned")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    kind: Mapped[VisitKind] = relationship()
    organizer_unit: Mapped[Unit] = relationship()
    leaders: Mapped[list[VisitLeader]] = relationship(
        cascade="all, delete-orphan", order_by="VisitLeader.user_id"
    )
    targets: Mapped[list[VisitTarget]] = relationship(cascade="all, delete-orphan")
    __mapper_args__ = {"version_id_col": version}

    @property
    def status_label(self) -> str:
        return VISIT_STATUSES.get(self.status, self.status)


class VisitLeader(db.Model):
    __tablename__ = "visit_leaders"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    user: Mapped[User] = relationship()


class VisitTarget(db.Model):
    __tablename__ = "visit_targets"

    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    unit: Mapped[Unit] = relationship()


class Finding(db.Model):
    """发现问题: names the unit and the problem; its rectification is an assignment."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class Pairing(db.Model):
    """联系点 / 帮扶: a leader paired with a unit they supervise."""

    __tablename__ = "pairings"
    __table_args__ = (UniqueConstraint("leader_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    leader: Mapped[User] = relationship()
    unit: Mapped[Unit] = relationship()
