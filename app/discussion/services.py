"""Comments and watching: post, edit (the author, for 15 minutes), withdraw (撤回, never
delete), @mention people who may see the item, watch (关注) an item or a visit."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from app import authz
from app.discussion.models import Comment, Watch
from app.discussion.policy import viewers_clause
from app.errors import ServiceError, check_version
from app.extensions import db
from app.journal import record
from app.notifications import insert_new_only, notify_users
from app.org.models import User
from app.tasks.models import Assignment
from app.textclean import DB_INT_MAX
from app.validation import allow

MAX_BODY = 2000
EDIT_WINDOW = timedelta(minutes=15)
EDIT_LATE = "发布超过15分钟，不能再修改。"
WITHDRAWN = "该评论已撤回，不能再修改或撤回。"
# Control characters but newline, carriage return and tab (NUL among them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# @username: after the start, a space or punctuation — not inside an e-mail address.
_MENTION = re.compile(r"(?:^|(?<=[\s\u3000，。、；：（(]))@([A-Za-z0-9_.\-]{2,50})")


def clean_body(value: str | None) -> str:
    """1–2,000 characters, trimmed; control characters refused, not silently dropped."""
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        raise ServiceError("请填写评论内容。", "body")
    if _CONTROL.search(text):
        raise ServiceError("评论内容包含控制字符（如空字符），无法保存，请删除后重试。", "body")
    if len(text) > MAX_BODY:
        raise ServiceError(f"评论内容不能超过 {MAX_BODY} 个字（现有 {len(text)} 个字）。", "body")
    return text


def mentioned_names(body: str) -> list[str]:
    return list(dict.fromkeys(m.lower() for m in _MENTION.findall(body)))


def _mentions(actor: Any, subject: Any, body: str, picked: Iterable[int]) -> list[User]:
    """The people @mentioned in the text or picked from the list — every one of them must
    be able to see the subject, else the comment is refused. A name or id that matches
    nobody, or someone the poster may not see himself (another court's account) who does
    not see the subject either, is counted, never named: the refusal tells nothing of
    people outside the poster's scope. One statement."""
    names, ids = mentioned_names(body), list(dict.fromkeys(i for i in picked if isinstance(i, int)))
    if not names and not ids:
        return []
    poster_sees = authz.CLAUSES[User](actor)
    stmt = select(User, viewers_clause(subject).label("sees"), poster_sees.label("known")).where(
        # an id no database integer holds matches nobody (PostgreSQL would refuse the statement)
        or_(func.lower(User.username).in_(names), User.id.in_([i for i in ids if 0 < i <= DB_INT_MAX]))
    )
    rows = db.session.execute(stmt.order_by(User.id)).all()
    found = [(user, sees) for user, sees, known in rows if sees or known]
    named = [user.display_name for user, sees in found if not sees]
    matched = {u.username.lower() for u, _, _ in rows} | {u.id for u, _, _ in rows}
    unknown = [n for n in names if n not in matched] + [i for i in ids if i not in matched]
    hidden = len(unknown) + len(rows) - len(found)
    refusal = ["、".join(f"「{n}」" for n in named) + "无权查看此事项"] if named else []
    if hidden:
        refusal.append(f"有 {hidden} 位被提及的人员不存在或无权查看此事项")
    if refusal:
        raise ServiceError("；".join(refusal) + "，不能@提及。", "body")
    return [user for user, _ in found]


def title_of(subject: Any) -> str:
    return subject.task.title if isinstance(subject, Assignment) else subject.title


def _unit_of(subject: Any) -> int:
    return subject.unit_id if isinstance(subject, Assignment) else subject.organizer_unit_id


def _tell_mentioned(actor: Any, comment: Comment, subject: Any, people: list[User], now: datetime) -> None:
    """Each person mentioned hears of it once per comment (an edit tells only the new ones)."""
    ids = [u.id for u in people if u.id != actor.id]
    excerpt = comment.body if len(comment.body) <= 60 else comment.body[:60] + "…"
    notify_users(
        ids,
        kind="mention",
        subject_type=comment.subject_type,
        subject_id=comment.subject_id,
        message=f"{actor.display_name}在「{title_of(subject)}」的讨论中提到了您：{excerpt}",
        dedupe_key=f"mention:{comment.id}",
        actor_id=actor.id,
        now=now,
        email=True,
    )


def post_comment(
    actor: Any, subject: Any, *, body: str | None, mention_ids: Iterable[int] = (), now: datetime
):
    """A new comment on an item or a visit, with its @mentions told."""
    allow(actor, "discussion.comment", subject, "您无权在此发表评论（只读账号不能发表评论）。")
    text = clean_body(body)
    people = _mentions(actor, subject, text, mention_ids)
    comment = Comment(
        subject_type=type(subject).__name__,
        subject_id=subject.id,
        author_id=actor.id,
        body=text,
        created_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    after = {"body": text, "mentions": [u.username for u in people]}
    record(actor, "comment.create", comment, None, after, unit_id=_unit_of(subject), now=now)
    _tell_mentioned(actor, comment, subject, people, now)
    return comment


def _standing(comment: Comment) -> None:
    if comment.withdrawn_at is not None:
        raise ServiceError(WITHDRAWN)


def edit_comment(
    actor: Any,
    comment: Comment,
    subject: Any,
    *,
    body: str | None,
    mention_ids: Iterable[int] = (),
    expected_version: Any,
    now: datetime,
) -> Comment:
    """The author corrects his comment within 15 minutes of posting it."""
    _standing(comment)
    allow(actor, "comment.edit", comment, "只有评论人本人可以修改评论。")
    check_version(comment, expected_version)
    if now - comment.created_at > EDIT_WINDOW:
        raise ServiceError(EDIT_LATE, "body")
    text = clean_body(body)
    people = _mentions(actor, subject, text, mention_ids)
    if text == comment.body and not people:
        return comment
    before = {"body": comment.body}
    comment.body, comment.edited_at = text, now
    db.session.flush()
    after = {"body": text, "mentions": [u.username for u in people]}
    record(actor, "comment.edit", comment, before, after, unit_id=_unit_of(subject), now=now)
    _tell_mentioned(actor, comment, subject, people, now)
    return comment


def withdraw_comment(actor: Any, comment: Comment, subject: Any, *, expected_version: Any, now: datetime):
    """撤回: the comment stays, shown as withdrawn (when, by whom); its text stays in the
    journal (and in the row, as evidence) but no page shows it again."""
    _standing(comment)
    allow(actor, "comment.withdraw", comment, "只有评论人本人或本单位的系统管理员可以撤回评论。")
    check_version(comment, expected_version)
    comment.withdrawn_at, comment.withdrawn_by_id = now, actor.id
    db.session.flush()
    after = {"withdrawn_at": now, "withdrawn_by": actor.display_name}
    record(
        actor, "comment.withdraw", comment, {"body": comment.body}, after, unit_id=_unit_of(subject), now=now
    )
    return comment


def set_watching(actor: Any, subject: Any, watching: bool, *, now: datetime) -> bool:
    """关注 / 取消关注 (idempotent: a second click, or two at once, changes nothing)."""
    allow(actor, "discussion.watch", subject, "您无权关注此事项。")
    key = dict(user_id=actor.id, subject_type=type(subject).__name__, subject_id=subject.id)
    current = db.session.scalar(select(Watch).filter_by(**key))
    if watching and current is None:
        db.session.execute(
            insert_new_only(Watch, ("user_id", "subject_type", "subject_id")), [{**key, "created_at": now}]
        )
        current = db.session.scalar(select(Watch).filter_by(**key))
        record(actor, "watch.add", current, None, key, unit_id=actor.unit_id, now=now)
    elif not watching and current is not None:
        record(actor, "watch.remove", current, key, None, unit_id=actor.unit_id, now=now)
        db.session.delete(current)
        db.session.flush()
    return watching
