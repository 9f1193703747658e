"""Demo comments for `flask seed demo`: a short discussion on a 本溪 item held by 华来法庭,
on the rectification of the 田师付 蹲点 visit and on the visit itself, with @mentions
and a watcher. Written through the services (journaled, mentions told). Skipped if any
comment exists."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.discussion import services
from app.discussion.models import Comment
from app.extensions import db
from app.org.models import Unit, User
from app.tasks.models import Assignment, Task
from app.visits.models import Finding, Visit


def _user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def load_demo_discussion(now: datetime) -> int:
    if db.session.scalar(select(Comment.id).limit(1)):
        return 0
    head, assigner, leader, tians = _user("hlft"), _user("bxzy"), _user("bxzy_ld"), _user("tsft")
    item = db.session.scalar(
        select(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Task.title == "规范人民法庭标识标牌", Unit.name == "华来人民法庭")
    )
    visit = db.session.scalar(select(Visit).where(Visit.title == "田师付法庭蹲点指导"))
    if not (head and assigner and leader and tians and item and visit):
        return 0
    rect = db.session.scalar(
        select(Assignment)
        .join(Finding, Finding.task_id == Assignment.task_id)
        .where(Finding.visit_id == visit.id)
    )
    at = now  # the latest of their pages: the authors may still edit them for 15 minutes
    said = [
        (
            head,
            item,
            "标牌样式已按全省统一标准定稿，正在联系制作单位，预计两周内安装到位。@bxzy 请看样稿是否符合要求。",
        ),
        (
            assigner,
            item,
            "@hlft 样稿符合要求。注意法庭外墙标牌须含国徽和“人民法庭”字样，安装后请上传现场照片。",
        ),
        (head, item, "收到，安装完成后上传照片并提交审核。"),
        (leader, visit, "蹲点中发现的卷宗归档问题已登记整改，请 @tsft 在时限内完成并反馈。"),
        (tians, visit, "已组织书记员逐案清理，本周内完成超期卷宗归档。"),
    ]
    if rect is not None:
        said.append((tians, rect, "已清理超期未归档卷宗 12 件，剩余 3 件待承办法官签字后归档。@bxzy_ld"))
    for i, (who, subject, body) in enumerate(said):
        services.post_comment(who, subject, body=body, now=at + timedelta(seconds=i))
    services.set_watching(assigner, item, True, now=at)
    services.set_watching(leader, visit, True, now=at)
    db.session.flush()
    return len(said)
