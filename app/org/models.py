"""The court tree (units, their names, the closure table) and the people in it."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.timeutil import utcnow

LEVELS = {
    "high": "高级人民法院",
    "intermediate": "中级人民法院",
    "base": "基层人民法院",
    "tribunal": "人民法庭",
}
LEVEL_RANK = {"high": 0, "intermediate": 1, "base": 2, "tribunal": 3}
TRIBUNAL_KINDS = {"center": "中心法庭", "regular": "人民法庭", "special": "专业法庭"}

ROLES = {
    "admin": "系统管理员",
    "secadmin": "安全管理员",
    "auditor": "安全审计员",
    "reviewer": "高院强基办",
    "assigner": "工作专班",
    "leader": "院领导",
    "coordinator": "基层法院联络员",
    "tribunal_head": "庭长",
    "staff": "干警",
    "viewer": "只读用户",
}
# 三员分立: the three administrators. No account holds two of them, and none of the
# three can do another's job (app/authz.py) or grant themselves a role.
ADMIN_ROLES = ("admin", "secadmin", "auditor")


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # official full name
    level: Mapped[str] = mapped_column(String(20), index=True)
    tribunal_kind: Mapped[str | None] = mapped_column(String(20))
    feature_label: Mapped[str | None] = mapped_column(String(50))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    email_muted: Mapped[bool] = mapped_column(Boolean, default=False)  # no reminder e-mail to its people
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])
    names: Mapped[list[UnitName]] = relationship(
        back_populates="unit", cascade="all, delete-orphan", order_by="UnitName.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def level_label(self) -> str:
        return LEVELS.get(self.level, self.level)

    @property
    def kind_label(self) -> str:
        return TRIBUNAL_KINDS.get(self.tribunal_kind or "", "")

    @property
    def aliases(self) -> list[str]:
        """Short names and aliases, without the official name."""
        return [n.name for n in self.names if n.kind != "official"]

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"


class UnitName(db.Model):
    """Every name a unit answers to. One table, one unique index: a name (official,
    short or alias) can belong to only one unit in the whole tree."""

    __tablename__ = "unit_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # official / short / alias

    unit: Mapped[Unit] = relationship(back_populates="names")


class UnitClosure(db.Model):
    """Closure table: one row per (ancestor, descendant) pair, self included at depth 0.
    "This unit and everything below it" is one indexed lookup on ancestor_id."""

    __tablename__ = "unit_closure"
    __table_args__ = (Index("ix_unit_closure_descendant", "descendant_id", "ancestor_id"),)

    ancestor_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    descendant_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    depth: Mapped[int] = mapped_column(Integer)


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (Index("ix_user_roles_role", "role", "user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(50))
    display_name: Mapped[str] = mapped_column(String(50))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Rotated at logout, password change and deactivation: a copied cookie dies.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    email_mode: Mapped[str] = mapped_column(String(10), default="digest")  # digest / immediate / off
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]  # for the expiry; None = before the policy
    mfa_secret: Mapped[str | None] = mapped_column(String(64))  # TOTP base32; None = not enrolled
    mfa_enabled_at: Mapped[datetime | None]
    # Issue 15 (directory login): "local" checks password_hash; "ldap" binds to the
    # court's directory as directory_dn (app/auth/directory.py) and has no local password.
    auth_source: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    directory_dn: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return bool(self.active)

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_labels(self) -> list[str]:
        return [ROLES.get(r, r) for r in sorted(self.roles, key=list(ROLES).index)]

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.username}>"
