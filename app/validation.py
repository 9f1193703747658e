"""What every service checks the same way: the policy's verdict, and free text."""

from __future__ import annotations

from typing import Any

from app import authz
from app.errors import ServiceError
from app.textclean import NUL_MESSAGE, clean_input, has_nul


class Forbidden(ServiceError):
    """The policy says no: the service refuses with a 403 and a clear message."""

    status = 403


def allow(actor: Any, action: str, obj: Any, message: str) -> None:
    """The policy decides. `actor=None` is the system itself (seed data, migrations)."""
    if actor is not None and not authz.can(actor, action, obj):
        raise Forbidden(message)


def clean_text(value: str | None, label: str, max_len: int, required: bool = True) -> str | None:
    """Trimmed text without control characters (newline and tab stay), None when empty
    and optional; refuse NUL, empty-but-required or too long — the forms' and the API's
    rules, for whatever reaches a service (imports, jobs, the API)."""
    if has_nul(value):
        raise ServiceError(NUL_MESSAGE, label)
    text = clean_input(value or "").strip()
    if not text:
        if required:
            raise ServiceError(f"请填写{label}。", label)
        return None
    if len(text) > max_len:
        raise ServiceError(f"{label}不能超过 {max_len} 个字。", label)
    return text
