"""Small helpers every view uses: run a service, commit once, show its message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, request
from flask_login import current_user

from app.errors import ServiceError
from app.extensions import db


def actor() -> Any:
    return current_user._get_current_object()


def run_service(fn: Callable[[], Any], form: Any = None) -> tuple[Any, int]:
    """Call a service; commit on success; on a ServiceError roll back, show the
    message (on the form field when there is one) and return its 4xx status."""
    try:
        result = fn()
    except ServiceError as exc:
        db.session.rollback()
        field = getattr(form, exc.field, None) if (form is not None and exc.field) else None
        if field is not None:
            field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
        flash(exc.message, "danger")
        return None, exc.status
    db.session.commit()
    return result, 200


def form_status(form: Any) -> int:
    """400 for a submitted form that failed validation, 200 for a first display."""
    return 400 if request.method == "POST" and form.errors else 200


def page_args(default_size: int = 50) -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    size = request.args.get("size", default_size, type=int) or default_size
    return max(page, 1), min(max(size, 10), 200)
