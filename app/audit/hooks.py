"""Request hooks that feed the audit log (安全审计), with no effort from each view.

After every request, what happened is added to the events the request queued
(logins by app/auth, denials by app/authz.require, role grants by app/org …):
- a write (POST/PUT/PATCH/DELETE): one "write" row with its endpoint, the object
  named in the URL and the result (success below 400; denied for 401/403/404 or a
  redirect to the login page; failure otherwise);
- an export (any response sent as an attachment) and an evidence download (the
  attachment route): one "export" / "download" row;
and every row of an administrator — or on an administrator's page — says so
(detail "admin": true). The rows are written after the request's own transaction,
in one of their own, also when the view raised (error handlers run first, then
after_request; teardown catches whatever is left).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, g, request
from flask_login import current_user

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Logging in and out record their own rows (auth.login / auth.login_failed with the
# reason, auth.logout — app/auth): a generic "write" beside them would only repeat them,
# and say "success" for a refused password. Every other write gets its row.
SELF_AUDITED = frozenset(
    {("auth.login", "POST"), ("auth.second_factor", "POST"), ("auth.logout", "POST"), ("api.token", "POST")}
)
EVIDENCE_ENDPOINTS = frozenset({"tasks.attachment"})
ADMIN_PATHS = ("/admin/", "/audit")
# The name of a view argument → the model it identifies (the rest: CamelCase of the stem).
ARG_MODELS = {
    "unit_id": "Unit",
    "user_id": "User",
    "batch_id": "ImportBatch",
    "import_id": "ImportBatch",
    "assignment_id": "Assignment",
    "task_id": "Task",
    "project_id": "Project",
    "request_id": "ExtensionRequest",
    "step_id": "AssignmentStep",
    "attachment_id": "Attachment",
    "visit_id": "Visit",
    "pairing_id": "Pairing",
    "template_id": "ChecklistTemplate",
    "checklist_id": "Checklist",
    "entry_id": "ChecklistEntry",
    "notification_id": "Notification",
    "notice_id": "UrgeNotice",
    "circular_id": "Circular",
    "rule_id": "ReminderRule",
    "override_id": "CalendarOverride",
    "display_id": "DisplayToken",
    "category_id": "Category",
    "token_id": "ApiToken",
}
_FILENAME_UTF8 = re.compile(r"filename\*=UTF-8''([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r"filename=\"?([^\";]+)\"?", re.IGNORECASE)


def register(app: Flask) -> None:
    """Record each request's writes, exports and downloads, then write what it queued."""

    @app.after_request
    def write_audit_events(response):
        try:
            _record_request(response)
        except Exception:  # noqa: BLE001 — logged loudly; the answer itself stands
            current_app.logger.exception("审计事件生成失败：%s %s", request.method, request.path)
        _flush()
        return response

    @app.teardown_request
    def write_leftover_audit_events(exc):
        # after_request did not run (an error escaped every handler): still write.
        if g.get("audit_events"):
            _flush()


def _flush() -> None:
    from app.audit.services import flush_request_events

    try:
        flush_request_events()
    except Exception:  # noqa: BLE001 — the request's own work is done; never turn it into a 500
        current_app.logger.exception("审计日志写入失败：%s %s", request.method, request.path)


def _record_request(response) -> None:
    """Queue the request's own rows (once, even if after_request runs twice)."""
    from app.audit.services import event

    if g.get("_audit_request_recorded") or request.endpoint is None:
        return
    g._audit_request_recorded = True
    endpoint = request.endpoint
    status = response.status_code
    user = current_user._get_current_object() if current_user else None
    object_type, object_id = _object_of(request.view_args or {})
    detail: dict[str, Any] = {"endpoint": endpoint, "method": request.method, "status": status}
    detail.update(g.get("audit_detail") or {})  # what the view added (e.g. an export's row count)
    if _is_admin(user, endpoint):
        detail["admin"] = True
    common = {"user": user, "object_type": object_type, "object_id": object_id}

    download = endpoint in EVIDENCE_ENDPOINTS and status < 400 and request.args.get("thumb") != "1"
    disposition = response.headers.get("Content-Disposition", "")
    if download or (disposition.lower().startswith("attachment") and status < 400):
        filename = _filename(disposition)
        event(
            "download" if download else "export",
            detail={**detail, "path": request.full_path.rstrip("?")[:500], "file": filename},
            **common,
        )
    if request.method in WRITE_METHODS and not _self_audited(endpoint):
        event("write", result=_result(response), detail={**detail, "path": request.path[:500]}, **common)


def _self_audited(endpoint: str) -> bool:
    return (endpoint, request.method) in SELF_AUDITED


def _result(response) -> str:
    status = response.status_code
    if status in (401, 403, 404):
        return "denied"
    if status >= 400:
        return "failure"
    location = response.headers.get("Location", "")
    if status in (301, 302, 303, 307, 308) and "/login" in location.split("?")[0]:
        return "denied"  # not logged in: sent to the login page, nothing done
    return "success"


def _is_admin(user: Any, endpoint: str) -> bool:
    from app.org.models import ADMIN_ROLES

    if request.path.startswith(ADMIN_PATHS) or endpoint.startswith("audit."):
        return True
    has_role = getattr(user, "has_role", None)
    return bool(getattr(user, "is_authenticated", False) and has_role and has_role(*ADMIN_ROLES))


def _object_of(view_args: dict) -> tuple[str | None, Any]:
    """The object a URL names: its first *_id argument. Other arguments are not
    objects, and some are secrets (a wall display's token): never recorded."""
    for name, value in view_args.items():
        if name.endswith("_id"):
            model = ARG_MODELS.get(name) or "".join(p.title() for p in name[:-3].split("_"))
            return model, value
    return None, None


def _filename(disposition: str) -> str | None:
    from urllib.parse import unquote

    match = _FILENAME_UTF8.search(disposition or "") or _FILENAME.search(disposition or "")
    return (unquote(match.group(1))[:200] or None) if match else None
