"""Builders for test data, going through the real services (so the closure table,
names and journal are always right)."""

from __future__ import annotations

from types import SimpleNamespace

from app.extensions import db
from app.org import services
from app.org.models import Unit, User
from app.timeutil import utcnow

PASSWORD = "Test@2026"


def unit(name: str, level: str, parent: Unit | None = None, **kw) -> Unit:
    return services.create_unit(None, name=name, level=level, parent=parent, now=utcnow(), **kw)


def user(username: str, unit_: Unit, roles=("staff",), **kw) -> User:
    return services.create_user(
        None,
        username=username,
        display_name=kw.pop("display_name", username),
        unit=unit_,
        roles=list(roles),
        password=kw.pop("password", PASSWORD),
        now=utcnow(),
        **kw,
    )


def build_tree() -> SimpleNamespace:
    """high
    ├── inter1 ── base1 ── trib1, trib2
    │          └─ base2 ── trib3
    └── inter2 ── base3
    """
    t = SimpleNamespace()
    t.high = unit("测试省高级人民法院", "high", aliases="测试高院")
    t.inter1 = unit("甲市中级人民法院", "intermediate", t.high, aliases="甲市中院")
    t.inter2 = unit("乙市中级人民法院", "intermediate", t.high, aliases="乙市中院")
    t.base1 = unit("甲一区人民法院", "base", t.inter1, aliases=["甲一区法院"])
    t.base2 = unit("甲二区人民法院", "base", t.inter1)
    t.base3 = unit("乙一县人民法院", "base", t.inter2)
    t.trib1 = unit("东山人民法庭", "tribunal", t.base1, tribunal_kind="center")
    t.trib2 = unit("西山人民法庭", "tribunal", t.base1)
    t.trib3 = unit("南山人民法庭", "tribunal", t.base2)
    db.session.commit()
    return t


# ---------------------------------------------------------------- projects, items, assignments


def project(actor: User, owner: Unit | None = None, name: str = "人民法庭建设攻坚", **kw):
    """A project owned by `owner` (default: the actor's unit), 2026 by default."""
    from datetime import date

    from app.tasks import services as task_services

    return task_services.create_project(
        actor,
        name=name,
        owner_unit=owner or actor.unit,
        start=kw.pop("start", date(2026, 1, 1)),
        end=kw.pop("end", date(2026, 12, 31)),
        now=kw.pop("now", utcnow()),
        **kw,
    )


def task(actor: User, project_, title: str = "选配人民法庭庭长", **kw):
    """An item in `project_`; a date deadline (2026-06-30) unless told otherwise."""
    from datetime import date

    from app.tasks import services as task_services

    kind = kw.pop("deadline_kind", "date")
    deadline = kw.pop("deadline", date(2026, 6, 30) if kind == "date" else None)
    return task_services.create_task(
        actor, project_, title=title, deadline_kind=kind, deadline=deadline, now=kw.pop("now", utcnow()), **kw
    )


def receivers(*units: Unit, role: str = "staff") -> list[User]:
    """One active person per unit to receive what is handed to it (an assignment to a
    unit with nobody there is refused): `<unit id>_gj`, a 干警 by default."""
    people = [user(f"u{u.id}_gj", u, [role], display_name=f"{u.name}干警") for u in units]
    db.session.commit()
    return people


def assign(actor: User, task_, *units: Unit, now=None) -> list:
    """Assign `task_` to `units` through the service."""
    from app.tasks import services as task_services

    return task_services.assign_task(
        actor, task_, list(units), expected_version=task_.version, now=now or utcnow()
    )


def task_users(t: SimpleNamespace) -> SimpleNamespace:
    """The people of build_tree's courts who take part in items, one per role and place."""
    u = SimpleNamespace()
    u.reviewer = user("gy_qjb", t.high, ["reviewer"], display_name="高院强基办")
    u.high_assigner = user("gy_zb", t.high, ["assigner"], display_name="高院专班")
    u.assigner = user("jz_zb", t.inter1, ["assigner"], display_name="甲市中院专班")
    u.inter1_staff = user("jz_gj", t.inter1, ["staff"], display_name="甲市中院干警")
    u.inter2_assigner = user("yz_zb", t.inter2, ["assigner"], display_name="乙市中院专班")
    u.base1_coord = user("j1_llr", t.base1, ["coordinator"], display_name="甲一区联络员")
    u.base1_staff = user("j1_gj", t.base1, ["staff"], display_name="甲一区干警")
    u.base2_coord = user("j2_llr", t.base2, ["coordinator"], display_name="甲二区联络员")
    u.base3_coord = user("y1_llr", t.base3, ["coordinator"], display_name="乙一县联络员")
    u.trib1_head = user("ds_tz", t.trib1, ["tribunal_head"], display_name="东山庭长")
    u.trib2_head = user("xs_tz", t.trib2, ["tribunal_head"], display_name="西山庭长")
    u.trib3_head = user("ns_tz", t.trib3, ["tribunal_head"], display_name="南山庭长")
    db.session.commit()
    return u


# ---------------------------------------------------------------- visits


def visit_users(t: SimpleNamespace) -> SimpleNamespace:
    """Leaders for visits: two of inter1 (one leads, one does not), one of the high
    court and one of inter2; inter1's assigner; trib1's head; inter1's staff."""
    u = SimpleNamespace()
    u.leader = user("jz_ld", t.inter1, ["leader"], display_name="甲市中院院长")
    u.leader2 = user("jz_ld2", t.inter1, ["leader"], display_name="甲市中院副院长")
    u.high_leader = user("gy_ld", t.high, ["leader"], display_name="高院院长")
    u.other_leader = user("yz_ld", t.inter2, ["leader"], display_name="乙市中院院长")
    u.assigner = user("jz_zb", t.inter1, ["assigner"], display_name="甲市中院专班")
    u.staff = user("jz_gj", t.inter1, ["staff"], display_name="甲市中院干警")
    u.head = user("ds_tz", t.trib1, ["tribunal_head"], display_name="东山庭长")
    db.session.commit()
    return u


def visit(actor: User, organizer: Unit, leaders: list, targets: list, **kw):
    """A planned visit through the service (kind 调研走访, 2026-03-10 unless told)."""
    from datetime import date

    from sqlalchemy import select

    from app.visits import services as visit_services
    from app.visits.models import VisitKind

    kind = db.session.scalar(select(VisitKind).where(VisitKind.name == kw.pop("kind", "调研走访")))
    start = kw.pop("start", date(2026, 3, 10))
    return visit_services.create_visit(
        actor,
        kind=kind,
        organizer=organizer,
        title=kw.pop("title", "人民法庭建设调研"),
        planned_start=start,
        planned_end=kw.pop("end", start),
        leaders=leaders,
        targets=targets,
        now=kw.pop("now", utcnow()),
        **kw,
    )


# ---------------------------------------------------------------- checklists

CHECKLIST_SECTIONS = [
    {
        "title": "一、布局合理化",
        "items": [
            {"code": "A-1", "title": "功能区按标准设置", "weight": 2, "evidence_required": True},
            {"code": "A-2", "title": "设立巡回审判点", "weight": 1},
        ],
    },
    {
        "title": "二、审判专业化",
        "items": [
            {"code": "B-1", "title": "审判团队配置到位", "weight": 3},
            {"code": "B-2", "title": "质效指标达到全市平均", "weight": 4, "evidence_required": True},
        ],
    },
]  # total weight 10


def checklist_template(
    actor=None, *, family: str = "test", name: str = "测试标准", sections=None, publish=True, now=None
):
    """A template (default: CHECKLIST_SECTIONS, weights 2+1+3+4), published unless told otherwise."""
    from app.checklists import services as cs

    now = now or utcnow()
    t = cs.create_template(
        actor,
        family=family,
        name=name,
        sections=CHECKLIST_SECTIONS if sections is None else sections,
        now=now,
    )
    if publish:
        cs.publish_template(actor, t, now=now)
    return t


def apply_checklist(actor, template, *units: Unit, due=None, reapply: bool = False, now=None) -> list:
    """Apply `template` to `units` through the service (due 2026-12-31 by default)."""
    from datetime import date

    from app.checklists import services as cs

    return cs.apply_template(
        actor, template, list(units), due=due or date(2026, 12, 31), now=now or utcnow(), reapply=reapply
    )


def set_entry(checklist, code: str, status: str, by: User | None = None):
    """Put one entry of `checklist` straight into `status` (test set-up, not the workflow)."""
    from sqlalchemy import select

    from app.checklists.models import ChecklistEntry

    entry = db.session.scalar(
        select(ChecklistEntry).where(ChecklistEntry.checklist_id == checklist.id, ChecklistEntry.code == code)
    )
    entry.status = status
    if by is not None:
        entry.verified_by_id = by.id
    db.session.flush()
    return entry


def bearer(client, user: User, password: str = PASSWORD) -> dict[str, str]:
    """An API token for `user`, as the Authorization header a client sends."""
    resp = client.post("/api/v1/auth/token", json={"username": user.username, "password": password})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}
