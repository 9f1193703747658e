"""Background jobs (imports, large exports, the month-end circular) and the one
scheduler per installation that runs them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

STATES = {
    "queued": "排队中",
    "running": "进行中",
    "done": "已完成",
    "failed": "失败",
    "cancelled": "已取消",
}
FINISHED = ("done", "failed", "cancelled")


class BackgroundJob(db.Model):
    """One piece of long work a user asked for: queued by a request, claimed and run by
    the scheduler process, its progress and result kept here for the page to show."""

    __tablename__ = "background_jobs"
    __table_args__ = (
        Index("ix_background_jobs_state_id", "state", "id"),
        Index("ix_background_jobs_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    params: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)
    # What the job made: a file kept under UPLOAD_DIR/jobs/ for download, and/or
    # what the page links to (an import batch, a circular …).
    result: Mapped[dict | None] = mapped_column(JSON)
    result_path: Mapped[str | None] = mapped_column(String(255))
    result_filename: Mapped[str | None] = mapped_column(String(255))
    result_size: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    progress_at: Mapped[datetime | None]
    runner: Mapped[str | None] = mapped_column(String(100))  # host:pid of the scheduler
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": version}

    @property
    def state_label(self) -> str:
        return STATES.get(self.state, self.state)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def percent(self) -> int | None:
        if self.state == "done":
            return 100
        if not self.total:
            return None
        return max(0, min(100, int(self.done * 100 / self.total)))


class SchedulerLock(db.Model):
    """The one row saying which scheduler process runs this installation's jobs: taken
    at start, renewed by a heartbeat; another scheduler refuses to start while it is
    fresh (it takes over from a holder whose heartbeat has stopped)."""

    __tablename__ = "scheduler_lock"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
