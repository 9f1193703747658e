"""API: the caller's own notifications — list (optionally unread only) and mark read."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app.api import bp
from app.api.util import BadRequest, commit_or_error, query_int
from app.extensions import db
from app.notifications import Notification
from app.reminders import prefs
from app.timeutil import to_local, utcnow

MAX_PER_PAGE = 200


def _iso(value) -> str | None:
    """Stored naive UTC → RFC 3339 with the Asia/Shanghai offset."""
    return to_local(value).isoformat() if value else None


def _notification_json(n: Notification) -> dict:
    return {
        "id": n.id,
        "kind": n.kind,
        "subject_type": n.subject_type,
        "subject_id": n.subject_id,
        "message": n.message,
        "created_at": _iso(n.created_at),
        "read_at": _iso(n.read_at),
    }


@bp.route("/notifications")
@login_required
def notification_list():
    """The caller's notifications, newest first; `unread=1` for unread ones only."""
    unread_only = request.args.get("unread", "") not in ("", "0", "false")
    page = query_int("page") or 1
    per_page = query_int("per_page") or 50
    if per_page > MAX_PER_PAGE:
        raise BadRequest(f"参数 per_page 不能超过 {MAX_PER_PAGE}。")
    stmt = select(Notification).where(Notification.recipient_id == current_user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = db.session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [_notification_json(n) for n in rows]
    return jsonify(
        {"items": items, "unread": prefs.unread_count(current_user.id), "page": page, "per_page": per_page}
    )


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def notification_read(notification_id: int):
    """Mark one of the caller's notifications read; anyone else's is 404."""
    n = db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.recipient_id == current_user.id
        )
    )
    if n is None:
        abort(404)
    _, err = commit_or_error(lambda: prefs.mark_read(n, now=utcnow()))
    return err or jsonify({"id": n.id, "read_at": _iso(n.read_at)})
