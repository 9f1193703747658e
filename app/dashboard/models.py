"""Display tokens: a read-only key per unit for the lobby screen (上墙), no login."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import Unit
from app.timeutil import utcnow


class DisplayToken(db.Model):
    """Only the SHA-256 of the token is kept: the address is shown once, when made."""

    __tablename__ = "display_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_seen_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[Unit] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class AssignmentTally(db.Model):
    """How many top-level items (a court's own splits are not counted again) each unit
    holds, per kind, month due, first month-end at which they count as overdue, and
    month closed (0 = open) — kept by database triggers on `assignments` in the same
    transaction as every insert, update and delete (migration 0008_tallies), so it is
    exact whoever writes: the services, an import, the generator, SQL by hand.

    The roll-ups (dashboard, completion list, rankings, trends) read these few rows per
    unit and month instead of every item; only the open items due from this month on,
    whose 红黄绿灯 change with the day, are counted live. `app.dashboard.tallies`."""

    __tablename__ = "assignment_tallies"
    # SQLite keeps the rows in key order (unit first): a subtree's rows are read in runs.
    __table_args__ = {"sqlite_with_rowid": False}

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    due_month: Mapped[int] = mapped_column(Integer, primary_key=True)  # yyyymm; 0 = no deadline
    # yyyymm of the first month at whose end the item is overdue if still open then:
    # the month of the day after its deadline, or of its creation if later; 0 = never
    overdue_from: Mapped[int] = mapped_column(Integer, primary_key=True)
    closed_month: Mapped[int] = mapped_column(Integer, primary_key=True)  # yyyymm; 0 = open
    n: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)  # closed on or before the deadline


class AssignmentUnitTally(db.Model):
    """Each unit's tallies summed over every month, per kind: items, closed, closed on
    time, open with no deadline — kept by database triggers on `assignment_tallies` in
    the same transaction as every change to them (migration 0021_unit_tallies), so it is
    as exact as the tallies. The dashboard's every-month figures read these ~2 rows per
    unit instead of every tally row (`app.dashboard.tallies`)."""

    __tablename__ = "assignment_unit_tallies"
    __table_args__ = {"sqlite_with_rowid": False}

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    open_no_deadline: Mapped[int] = mapped_column(Integer, default=0)


class TallyVersion(db.Model):
    """One row whose number goes up, in the same transaction, with every change the
    cached roll-ups depend on: an item's unit, task, parent, status, deadline, closing
    day, creation or progress, and the unit tree (triggers of migration 0010). A roll-up
    computed from the tallies is kept in the web process under the number it was read
    with (`app.dashboard.tallies`); a new number means a new computation, so the cache is
    exact without anyone having to remember to clear it."""

    __tablename__ = "tally_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
