"""Errors a service raises for the caller to turn into a clear 4xx message."""

from __future__ import annotations


class ServiceError(Exception):
    """Bad input or a forbidden state change; the message is shown to the user."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(ServiceError):
    """Somebody else saved the object since this user loaded it."""

    status = 409

    def __init__(self, message: str = "该记录已被他人修改，请刷新页面查看最新内容后再保存。"):
        super().__init__(message)


def check_version(obj, expected: int | str | None) -> None:
    """Optimistic lock: refuse a save based on a stale copy."""
    if expected in (None, ""):
        return
    try:
        expected_int = int(expected)
    except (TypeError, ValueError):
        raise Conflict() from None
    if expected_int != obj.version:
        raise Conflict()
