"""Run once on the working copy, before the server starts (`python -m bench.prepare`,
DATABASE_URL set): the ids the benchmark needs, the data's size, and a wall-display token.

It writes to the copy only what a person could do in the app: a display token created
through the service, and — if a demo account's password has outlived the expiry since
the cached database was built — that password's change date moved to now (otherwise
the login would land on 修改密码). It prints one JSON line."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

USERS = {
    "head": "hlft",  # 庭长, 华来人民法庭
    "assigner": "bxzy",  # 本溪中院工作专班: an intermediate court's subtree
    "reviewer": "lnfy",  # 省高院强基办: the whole province
    "admin": "admin",
}


def gather() -> dict:
    from app import authz
    from app.auth import passwords
    from app.dashboard.services import create_display
    from app.extensions import db
    from app.notifications import Notification
    from app.org.models import Unit, UnitClosure, User
    from app.reminders.workdays import Calendar
    from app.tasks.models import Assignment, ProgressReport, Project, Task
    from app.timeutil import local_today, utcnow
    from app.visits.models import Visit

    now, today = utcnow(), local_today()
    users = {}
    for role, username in USERS.items():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise SystemExit(f"数据库中没有演示账号 {username}（生成器应在每个规模都保留演示账号）")
        if passwords.expired(user, now=now):
            user.password_changed_at = now
        users[role] = user
    out: dict = {u: {"id": users[u].id, "unit_id": users[u].unit_id} for u in users}
    assigner_unit = users["assigner"].unit_id

    # The biggest project the reviewer (who opens it) sees: at nation scale, one of its own province's.
    reviewer_subtree = select(UnitClosure.descendant_id).where(
        UnitClosure.ancestor_id == users["reviewer"].unit_id
    )
    biggest = db.session.execute(
        select(Task.project_id, func.count(Assignment.id))
        .join(Assignment, Assignment.task_id == Task.id)
        .join(Project, Project.id == Task.project_id)  # rectifications belong to no project
        .where(Project.owner_unit_id.in_(reviewer_subtree))
        .group_by(Task.project_id)
        .order_by(func.count(Assignment.id).desc(), Task.project_id)
        .limit(1)
    ).first()
    out["project"] = {"id": biggest[0], "assignments": biggest[1]} if biggest else None

    longest = db.session.execute(
        select(ProgressReport.assignment_id, func.count())
        .group_by(ProgressReport.assignment_id)
        .order_by(func.count().desc(), ProgressReport.assignment_id)
        .limit(1)
    ).first()
    out["item"] = {"id": longest[0], "reports": longest[1]} if longest else None

    # Import: a project the 工作专班 may add to, and units below it it may assign to.
    projects = db.session.scalars(select(Project).order_by(Project.id)).all()
    target = next((p for p in projects if authz.can(users["assigner"], "project.add_task", p)), None)
    out["import_project"] = (
        {"id": target.id, "start": target.start.isoformat(), "end": target.end.isoformat()}
        if target
        else None
    )
    below = db.session.scalars(
        select(Unit)
        .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
        .where(UnitClosure.ancestor_id == assigner_unit, UnitClosure.depth > 0, Unit.is_active.is_(True))
        .order_by(Unit.level.desc(), Unit.id)
        .limit(200)
    ).all()
    out["import_units"] = [u.name for u in below if authz.can(users["assigner"], "unit.assign_to", u)][:6]

    _token, raw = create_display(
        users["admin"], db.session.get(Unit, users["reviewer"].unit_id), label="基准测试", now=now
    )
    out["wall_token"] = raw

    day, calendar = today, Calendar()
    while not calendar.is_workday(day):
        day -= timedelta(days=1)
    out["sweep_date"] = day.isoformat()
    # Imports, large exports and the circular run in the scheduler process once jobs exist.
    out["has_jobs"] = "jobs.job_detail" in current_app.view_functions

    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    out["counts"] = {
        "单位": count(Unit),
        "用户": count(User),
        "事项": count(Task),
        "承办": count(Assignment),
        "进度反馈": count(ProgressReport),
        "通知": count(Notification),
        "走访": count(Visit),
    }
    db.session.commit()
    return out


def main() -> None:
    from app import create_app

    app = create_app()
    with app.app_context():
        data = gather()
    sys.stdout.write("BENCH-PREPARE " + json.dumps(data, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
