"""Who an issued 月末通报 is addressed to, and who of them has read it (as 催办单 receipts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import Unit, User


class CircularAddressee(db.Model):
    """A court the circular names (ranked in it, or holding an item of its red list). The
    court and every unit above it may read the issued circular."""

    __tablename__ = "circular_addressees"

    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class CircularRead(db.Model):
    """One person of an addressed court, notified when the circular was issued, and when
    they first opened it."""

    __tablename__ = "circular_reads"
    __table_args__ = (UniqueConstraint("circular_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    circular_id: Mapped[int] = mapped_column(ForeignKey("circulars.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the person's court when issued
    read_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    unit: Mapped[Unit] = relationship()
