"""A saved view: one list's query parameters under a name, of one owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.org.models import User
from app.timeutil import utcnow


class SavedView(db.Model):
    __tablename__ = "saved_views"
    __table_args__ = (
        # one name per owner and list; also the index of "my views of this list"
        UniqueConstraint("owner_id", "list_key", "name"),
        # at most one default per owner and list, whatever two requests do at once
        Index(
            "uq_saved_views_default",
            "owner_id",
            "list_key",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    list_key: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50))
    # the list's own query string, validated against its filter keys (app.savedviews.lists)
    query: Mapped[str] = mapped_column(String(1000), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # with the owner's unit
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()
    __mapper_args__ = {"version_id_col": version}
