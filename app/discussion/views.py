"""Pages: the thread of an item or a visit, posting, editing, withdrawing, 关注."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from app import authz
from app.discussion import bp, queries, services
from app.discussion.models import Comment
from app.discussion.policy import subject_of
from app.extensions import db
from app.textclean import db_int
from app.timeutil import utcnow
from app.views_util import actor, page_args, refuse_stale, run_service

KINDS = {"Assignment": "assignments", "Visit": "visits"}


def page_of(subject: Any, anchor: str = "discussion") -> str:
    """The item's or the visit's own page, at its discussion."""
    if type(subject).__name__ == "Visit":
        return url_for("visits.visit_detail", visit_id=subject.id, _anchor=anchor)
    return url_for("tasks.assignment_detail", assignment_id=subject.id, _anchor=anchor)


def _picked() -> list[int]:
    ids = []
    for raw in request.form.getlist("mention")[:50]:
        try:
            ids.append(db_int(raw))
        except ValueError:
            continue
    return ids


def _thread_page(subject: Any, status: int = 200, body: str = ""):
    page = min(page_args()[0], 10_000)  # a 2**63 page is the last one there could be, not an SQL error
    return render_template(
        "discussion/thread.html",
        subject=subject,
        kind=KINDS[type(subject).__name__],
        back=page_of(subject, anchor=""),
        title=services.title_of(subject),
        panel=queries.thread(subject, current_user, page),
        page=page,
        size=queries.THREAD_SIZE,
        people=queries.people(subject) if authz.can(current_user, "discussion.comment", subject) else [],
        body=body,
    ), status


@bp.route("/discussion/<kind>/<int:object_id>")
@login_required
def thread(kind: str, object_id: int):
    subject = queries.subject_or_404(kind, object_id, "discussion.view", current_user)
    return _thread_page(subject)


@bp.route("/discussion/<kind>/<int:object_id>/comments", methods=["POST"])
@login_required
def comment_post(kind: str, object_id: int):
    subject = queries.subject_or_404(kind, object_id, "discussion.comment", current_user)
    body = request.form.get("body", "")
    posted, status = run_service(
        lambda: services.post_comment(actor(), subject, body=body, mention_ids=_picked(), now=utcnow())
    )
    if posted is None:
        return _thread_page(subject, status, body=body[: services.MAX_BODY * 2])
    flash("评论已发表。", "success")
    return redirect(page_of(subject, anchor=f"c{posted.id}"))


@bp.route("/discussion/<kind>/<int:object_id>/watch", methods=["POST"])
@login_required
def watch(kind: str, object_id: int):
    subject = queries.subject_or_404(kind, object_id, "discussion.watch", current_user)
    on = request.form.get("watch") == "1"
    done, _ = run_service(lambda: services.set_watching(actor(), subject, on, now=utcnow()))
    if done is not None:
        flash("已关注：此后的每项变动都会通知您。" if on else "已取消关注。", "success")
    return redirect(page_of(subject))


def _comment(comment_id: int, action: str) -> tuple[Comment, Any]:
    """The comment and its subject. A withdrawn one is checked as the thread is (whoever
    sees it), so the service says why nothing more can be done with it — not a bare 403."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        abort(404)
    authz.require(current_user, "discussion.view" if comment.withdrawn_at else action, comment)
    subject = subject_of(comment)
    if subject is None:
        abort(404)
    return comment, subject


def _closed(comment: Comment) -> str | None:
    """Why the comment can no longer be edited (withdrawn, or the 15 minutes are over)."""
    if comment.withdrawn_at is not None:
        return services.WITHDRAWN
    if utcnow() - comment.created_at > services.EDIT_WINDOW:
        return services.EDIT_LATE
    return None


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def comment_edit(comment_id: int):
    comment, subject = _comment(comment_id, "comment.edit")
    body = request.form.get("body", comment.body)
    status = 200
    if request.method == "POST":
        refuse_stale(comment)
        saved, status = run_service(
            lambda: services.edit_comment(
                actor(),
                comment,
                subject,
                body=body,
                mention_ids=_picked(),
                expected_version=request.form.get("version"),
                now=utcnow(),
            ),
            versioned=comment,
        )
        if saved is not None:
            flash("评论已修改。", "success")
            return redirect(page_of(subject, anchor=f"c{comment.id}"))
    page = dict(comment=comment, subject=subject, title=services.title_of(subject), body=body)
    page["closed"] = _closed(comment)  # the message instead of the form
    return render_template(
        "discussion/edit.html", back=page_of(subject, anchor=f"c{comment.id}"), **page
    ), status


@bp.route("/comments/<int:comment_id>/withdraw", methods=["POST"])
@login_required
def comment_withdraw(comment_id: int):
    comment, subject = _comment(comment_id, "comment.withdraw")
    refuse_stale(comment)
    done, status = run_service(
        lambda: services.withdraw_comment(
            actor(), comment, subject, expected_version=request.form.get("version"), now=utcnow()
        ),
        versioned=comment,
    )
    if done is None:
        return _thread_page(subject, status)
    flash("评论已撤回。", "success")
    return redirect(page_of(subject, anchor=f"c{comment.id}"))


_MENTION_HTML = re.compile(r"(^|[\s\u3000，。、；：（(])(@[A-Za-z0-9_.\-]{2,50})")


@bp.app_template_filter("mentions")
def mentions_filter(body: str) -> Markup:
    """The comment's text, escaped, with its @mentions marked."""
    return Markup(_MENTION_HTML.sub(r'\1<span class="fw-semibold text-primary">\2</span>', str(escape(body))))
