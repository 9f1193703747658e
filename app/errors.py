"""Errors a service raises for the caller to turn into a clear 4xx message, and the
optimistic lock every edit of a versioned object goes through."""

from __future__ import annotations

import re
from typing import Any


class ServiceError(Exception):
    """Bad input or a forbidden state change; the message is shown to the user."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(ServiceError):
    """Somebody else saved the object since this user loaded it (or the save did not
    say which version it was based on). Carries the object and its current version so
    a page can show what changed and the API can answer with the version to retry on."""

    status = 409

    def __init__(
        self,
        message: str = "该记录已被他人修改，请刷新页面查看最新内容后再保存。",
        *,
        obj: Any = None,
        current_version: int | None = None,
    ):
        super().__init__(message)
        self.obj = obj
        self.current_version = (
            current_version if current_version is not None else getattr(obj, "version", None)
        )


class MissingVersion(Conflict):
    """A save that did not carry a (well-formed) version: refused, never waved through."""


MISSING_MESSAGE = "提交的内容缺少版本号，请刷新页面后重试。"
MALFORMED_MESSAGE = "提交的版本号无效，请刷新页面后重试。"


class _AnyVersion:
    """The explicit pass for callers with no page behind them (seed data, the
    scheduler, imports): they edit whatever is current, and say so."""

    def __repr__(self) -> str:
        return "ANY_VERSION"


ANY_VERSION: Any = _AnyVersion()

_DIGITS = re.compile(r"\d{1,18}")


def parse_version(value: Any) -> int | None:
    """A version as sent by a form (text) or a JSON body (int); None when it isn't one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def check_version(obj: Any, expected: Any) -> None:
    """Optimistic lock: refuse a save that is based on a stale copy, or that does not
    say which copy it is based on. Only `ANY_VERSION` skips the check."""
    if expected is ANY_VERSION:
        return
    if expected is None or (isinstance(expected, str) and not expected.strip()):
        raise MissingVersion(MISSING_MESSAGE, obj=obj)
    version = parse_version(expected)
    if version is None:
        raise MissingVersion(MALFORMED_MESSAGE, obj=obj)
    if version != obj.version:
        raise Conflict(obj=obj)


def hold_version(obj: Any, expected: Any, now: Any, *, touch: str = "updated_at") -> None:
    """The optimistic lock of one save: `check_version`, then write the row at once —
    an UPDATE … WHERE version = <loaded> — so that of two saves of the same version
    exactly one passes on any database (the other fails the check, or its UPDATE
    matches no row: StaleDataError, shown as the same conflict), even when the save
    changes nothing else on the row. `touch` names the column rewritten to force it."""
    from sqlalchemy.orm.attributes import flag_modified

    from app.extensions import db

    check_version(obj, expected)
    if touch == "updated_at":
        obj.updated_at = now
    flag_modified(obj, touch)
    db.session.flush()
