"""Small helpers every view uses: run a service, commit once, show its message — and
the conflict page any versioned form ends on when somebody else saved first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, request
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from app.conflicts import conflict_page
from app.errors import Conflict, ServiceError, parse_version
from app.extensions import db


def actor() -> Any:
    return current_user._get_current_object()


def run_service(fn: Callable[[], Any], form: Any = None, *, versioned: Any = None) -> tuple[Any, int]:
    """Call a service; commit on success; on a ServiceError roll back, show the
    message (on the form field when there is one) and return its 4xx status.

    A version conflict — the service's own check, or a concurrent save caught by the
    database (StaleDataError) — ends the request with the conflict page (409): what
    changed since the page was loaded, who saved it, and the user's input kept.
    `versioned` names the object the form edits, for conflicts the database catches."""
    try:
        result = fn()
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        stale = Conflict(obj=versioned)
        _conflict(stale, form)
        return _refused(stale, form)
    except Conflict as exc:
        db.session.rollback()
        if exc.obj is None:
            exc.obj = versioned
        _conflict(exc, form)
        return _refused(exc, form)
    except ServiceError as exc:
        db.session.rollback()
        return _refused(exc, form)
    return result, 200


def _refused(exc: ServiceError, form: Any) -> tuple[None, int]:
    field_ = getattr(form, exc.field, None) if (form is not None and exc.field) else None
    if field_ is not None:
        field_.errors = [*field_.errors, exc.message] if isinstance(field_.errors, list) else [exc.message]
    flash(exc.message, "danger")
    return None, exc.status


def _conflict(exc: Conflict, form: Any) -> None:
    """Abort with the conflict page when there is an object to show it for."""
    if exc.obj is None:
        return
    exc.current_version = exc.obj.version  # re-read after the rollback: what is saved now
    abort(conflict_page(exc, form))


def refuse_stale(obj: Any, form: Any = None) -> None:
    """A save from a page older than the object ends on the conflict page before the
    action is checked: what changed (say, somebody 办结 it meanwhile) is what the user
    needs to see, not the refusal that would follow from it. The service checks the
    version again (and refuses a missing one); this is only the page's order of things."""
    posted = parse_version(request.form.get("version"))
    if posted is not None and posted != obj.version:
        abort(conflict_page(Conflict(obj=obj), form))


def form_status(form: Any) -> int:
    """400 for a submitted form that failed validation, 200 for a first display."""
    return 400 if request.method == "POST" and form.errors else 200


def page_args(default_size: int = 50) -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    size = request.args.get("size", default_size, type=int) or default_size
    return max(page, 1), min(max(size, 10), 200)
