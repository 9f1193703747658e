"""API: the caller's own notifications — list (optionally unread only) and mark read."""

from __future__ import annotations

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from app.api import bp
from app.api.core import run
from app.api.inputs import NotificationsQuery
from app.api.outputs import NotificationPageOut, NotificationReadOut
from app.extensions import db
from app.notifications import Notification
from app.reminders import prefs
from app.timeutil import to_local, utcnow


def _local(value):
    """Stored naive UTC → aware Asia/Shanghai (RFC 3339 with its offset)."""
    return to_local(value) if value else None


def _notification_out(n: Notification) -> dict:
    return {
        "id": n.id,
        "kind": n.kind,
        "subject_type": n.subject_type,
        "subject_id": n.subject_id,
        "message": n.message,
        "created_at": _local(n.created_at),
        "read_at": _local(n.read_at),
    }


@bp.route("/notifications")
@login_required
@bp.doc(summary="本人的站内通知（新的在前）")
@bp.arguments(NotificationsQuery, location="query")
@bp.response(200, NotificationPageOut)
@bp.errors(400, 401, 403)
def notification_list(args: dict):
    """The caller's notifications, newest first; `unread=1` for unread ones only."""
    page, per_page = args["page"], args["per_page"]
    stmt = select(Notification).where(Notification.recipient_id == current_user.id)
    if args["unread"]:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = db.session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return {
        "items": [_notification_out(n) for n in rows],
        "unread": prefs.unread_count(current_user.id),
        "page": page,
        "per_page": per_page,
    }


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
@bp.doc(summary="将本人的一条通知标为已读（他人的通知返回 404）")
@bp.response(200, NotificationReadOut)
@bp.errors(401, 403, 404)
def notification_read(notification_id: int):
    """Mark one of the caller's notifications read; anyone else's is 404."""
    n = db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.recipient_id == current_user.id
        )
    )
    if n is None:
        abort(404)
    run(lambda: prefs.mark_read(n, now=utcnow()))
    return {"id": n.id, "read_at": _local(n.read_at)}
