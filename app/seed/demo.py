"""A realistic Liaoning for demos and browser tests. Idempotent: a unit or user
that already exists (by name / username) is left as it is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.errors import ANY_VERSION
from app.extensions import db
from app.org import services
from app.org.models import Unit, User

DEMO_PASSWORD = "Demo@2026"

# (official full name, [short names / aliases], level, tribunal kind, feature label, children)
T = "tribunal"


def tribunal(name: str, kind: str = "regular", feature: str | None = None, aliases=None):
    short = name.replace("人民法庭", "法庭")
    return (name, [short, *(aliases or [])], T, kind, feature, [])


def base(name: str, aliases: list[str], children: list):
    return (name, aliases, "base", None, None, children)


TREE = (
    "辽宁省高级人民法院",
    ["辽宁高院", "省法院"],
    "high",
    None,
    None,
    [
        (
            "本溪市中级人民法院",
            ["本溪中院", "本溪市中院"],
            "intermediate",
            None,
            None,
            [
                base(
                    "本溪市平山区人民法院",
                    ["平山区人民法院", "平山区法院"],
                    [
                        tribunal("桥头人民法庭"),
                    ],
                ),
                base(
                    "本溪市溪湖区人民法院",
                    ["溪湖区人民法院", "溪湖区法院"],
                    [
                        tribunal("火连寨人民法庭"),
                    ],
                ),
                base("本溪市明山区人民法院", ["明山区人民法院", "明山区法院"], []),
                base(
                    "本溪市南芬区人民法院",
                    ["南芬区人民法院", "南芬区法院"],
                    [
                        tribunal("下马塘人民法庭"),
                    ],
                ),
                base(
                    "本溪满族自治县人民法院",
                    ["本溪县人民法院", "本溪县法院"],
                    [
                        tribunal("田师付人民法庭", "center"),
                        tribunal("小市人民法庭"),
                        tribunal("草河口人民法庭"),
                        tribunal("连山关人民法庭", "special", "旅游法庭"),
                    ],
                ),
                base(
                    "桓仁满族自治县人民法院",
                    ["桓仁县人民法院", "桓仁县法院"],
                    [
                        tribunal("华来人民法庭", "special", "林下参产业法庭"),
                        tribunal("二棚甸子人民法庭", "center"),
                        tribunal("普乐堡人民法庭"),
                        tribunal("沙尖子人民法庭", "special", "冰葡萄酒产业法庭"),
                    ],
                ),
            ],
        ),
        (
            "阜新市中级人民法院",
            ["阜新中院", "阜新市中院"],
            "intermediate",
            None,
            None,
            [
                base(
                    "阜新市海州区人民法院",
                    ["海州区人民法院", "海州区法院"],
                    [
                        tribunal("韩家店人民法庭"),
                    ],
                ),
                base(
                    "阜新市细河区人民法院",
                    ["细河区人民法院", "细河区法院"],
                    [
                        tribunal("四合人民法庭"),
                    ],
                ),
                base("阜新市太平区人民法院", ["太平区人民法院", "太平区法院"], []),
                base("阜新市新邱区人民法院", ["新邱区人民法院", "新邱区法院"], []),
                base(
                    "阜新市清河门区人民法院",
                    ["清河门区人民法院", "清河门区法院"],
                    [
                        tribunal("河西人民法庭"),
                    ],
                ),
                base(
                    "阜新蒙古族自治县人民法院",
                    ["阜蒙县人民法院", "阜蒙县法院"],
                    [
                        tribunal("王府人民法庭", "center"),
                        tribunal("大板人民法庭", "center"),
                        tribunal("旧庙人民法庭"),
                        tribunal("于寺人民法庭"),
                    ],
                ),
                base(
                    "彰武县人民法院",
                    ["彰武县法院"],
                    [
                        tribunal("冯家人民法庭", "center"),
                        tribunal("哈尔套人民法庭"),
                        tribunal("章古台人民法庭", "special", "治沙生态法庭"),
                    ],
                ),
            ],
        ),
        (
            "朝阳市中级人民法院",
            ["朝阳中院", "朝阳市中院"],
            "intermediate",
            None,
            None,
            [
                base(
                    "朝阳市双塔区人民法院",
                    ["双塔区人民法院", "双塔区法院"],
                    [
                        tribunal("桃花吐人民法庭"),
                    ],
                ),
                base(
                    "朝阳市龙城区人民法院",
                    ["龙城区人民法院", "龙城区法院"],
                    [
                        tribunal("七道泉子人民法庭"),
                        tribunal("大平房人民法庭"),
                    ],
                ),
                base(
                    "北票市人民法院",
                    ["北票市法院"],
                    [
                        tribunal("台吉人民法庭", "center"),
                        tribunal("泉巨永人民法庭"),
                    ],
                ),
                base(
                    "凌源市人民法院",
                    ["凌源市法院"],
                    [
                        tribunal("宋杖子人民法庭"),
                        tribunal("刀尔登人民法庭"),
                    ],
                ),
                base(
                    "朝阳县人民法院",
                    ["朝阳县法院"],
                    [
                        tribunal("羊山人民法庭"),
                        tribunal("木头城子人民法庭"),
                    ],
                ),
                base(
                    "建平县人民法院",
                    ["建平县法院"],
                    [
                        tribunal("叶柏寿人民法庭", "center"),
                        tribunal("朱碌科人民法庭"),
                    ],
                ),
                base(
                    "喀喇沁左翼蒙古族自治县人民法院",
                    ["喀左县人民法院", "喀左县法院"],
                    [
                        tribunal("公营子人民法庭"),
                        tribunal("南公营子人民法庭"),
                    ],
                ),
            ],
        ),
    ],
)

# username, display name, unit, roles, email
USERS = [
    ("admin", "系统管理员", "辽宁省高级人民法院", ["admin"], None),
    # 三员分立: one account per administrator role (`admin` above stays the 系统管理员).
    ("sysadmin", "系统管理员（三员）", "辽宁省高级人民法院", ["admin"], None),
    ("secadmin", "安全管理员", "辽宁省高级人民法院", ["secadmin"], None),
    ("auditor", "安全审计员", "辽宁省高级人民法院", ["auditor"], None),
    ("lnfy", "省高院强基办", "辽宁省高级人民法院", ["reviewer"], "lnfy@court.example.cn"),
    ("bxzy", "本溪中院工作专班", "本溪市中级人民法院", ["assigner"], "bxzy@court.example.cn"),
    ("bxzy_ld", "本溪中院院领导", "本溪市中级人民法院", ["leader"], None),
    ("fxzy", "阜新中院工作专班", "阜新市中级人民法院", ["assigner"], None),
    ("hrfy", "桓仁县法院联络员", "桓仁满族自治县人民法院", ["coordinator"], None),
    ("hlft", "华来法庭庭长", "华来人民法庭", ["tribunal_head"], None),
    ("fjft", "冯家法庭庭长", "冯家人民法庭", ["tribunal_head"], None),
    ("tsft", "田师付法庭庭长", "田师付人民法庭", ["tribunal_head"], None),
    # Every court the demo hands an item to has someone to receive it (an assignment to
    # a unit with nobody there is refused).
    ("bxfy", "本溪县法院联络员", "本溪满族自治县人民法院", ["coordinator"], None),
    ("psfy", "平山区法院联络员", "本溪市平山区人民法院", ["coordinator"], None),
    ("xhfy", "溪湖区法院联络员", "本溪市溪湖区人民法院", ["coordinator"], None),
    ("fmfy", "阜蒙县法院联络员", "阜新蒙古族自治县人民法院", ["coordinator"], None),
    ("zwfy", "彰武县法院联络员", "彰武县人民法院", ["coordinator"], None),
    ("qhfy", "清河门区法院联络员", "阜新市清河门区人民法院", ["coordinator"], None),
    ("wfft", "王府法庭庭长", "王府人民法庭", ["tribunal_head"], None),
]


def load_demo(now: datetime) -> dict[str, int]:
    """Create what is missing of the demo tree and accounts; return counts created."""
    created = {"units": 0, "users": 0}

    def walk(node, parent: Unit | None) -> None:
        name, aliases, level, kind, feature, children = node
        unit = db.session.scalar(select(Unit).where(Unit.name == name))
        if unit is None:
            unit = services.create_unit(
                None,
                name=name,
                level=level,
                parent=parent,
                tribunal_kind=kind,
                feature_label=feature,
                aliases=aliases,
                now=now,
            )
            created["units"] += 1
        for child in children:
            walk(child, unit)

    walk(TREE, None)
    for username, display, unit_name, roles, email in USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            continue
        unit = db.session.scalar(select(Unit).where(Unit.name == unit_name))
        services.create_user(
            None,
            username=username,
            display_name=display,
            unit=unit,
            roles=roles,
            password=DEMO_PASSWORD,
            email=email,
            now=now,
        )
        created["users"] += 1
    # Every other base court has its 联络员 too (the monthly history hands it an item):
    # `llr01`, `llr02`, … in the tree's order.
    courts = db.session.scalars(
        select(Unit).where(Unit.level == "base").order_by(Unit.sort_order, Unit.id)
    ).all()
    staffed = set(db.session.scalars(select(User.unit_id).where(User.unit_id.in_([c.id for c in courts]))))
    for n, court in enumerate(courts, start=1):
        username = f"llr{n:02d}"
        if court.id in staffed or db.session.scalar(select(User.id).where(User.username == username)):
            continue
        services.create_user(
            None,
            username=username,
            display_name=f"{court.aliases[0] if court.aliases else court.name}联络员",
            unit=court,
            roles=["coordinator"],
            password=DEMO_PASSWORD,
            now=now,
        )
        created["users"] += 1
    return created


# ---------------------------------------------------------------- demo task lists

DEMO_PROJECT = "人民法庭建设攻坚"


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _unit(name: str) -> Unit:
    from app.org.services import find_unit_by_name

    return find_unit_by_name(name)


def load_demo_tasks(now: datetime) -> int:
    """A project with items assigned by 本溪 and 阜新, some done, some due soon, some
    overdue — dates relative to the day the demo is loaded. Skipped if present."""
    from datetime import timedelta

    from app.tasks import services as ts
    from app.tasks.models import Assignment, Category, Project
    from app.timeutil import to_local

    if db.session.scalar(select(Project.id).where(Project.name == DEMO_PROJECT)):
        return 0
    today = to_local(now).date()
    cat = {c.name: c for c in db.session.scalars(select(Category))}
    project = ts.create_project(
        _user("lnfy"),
        name=DEMO_PROJECT,
        owner_unit=_unit("辽宁省高级人民法院"),
        start=today - timedelta(days=90),
        end=today + timedelta(days=270),
        description="对标对表“五化”和示范标准，推进人民法庭建设。",
        now=now,
    )
    items = [
        (
            "bxzy",
            "规范人民法庭标识标牌",
            "按照全省统一标准设置法庭标识、标牌",
            "法庭建设",
            today - timedelta(days=5),
            ["华来人民法庭", "田师付人民法庭"],
        ),
        (
            "bxzy",
            "完善诉讼服务站点建设",
            "在法庭设置诉讼服务站点，配齐自助设备",
            "基础设施",
            today + timedelta(days=3),
            ["华来人民法庭"],
        ),
        (
            "bxzy",
            "开展人民法庭“大走访”",
            "全面掌握基层审执情况和困难问题",
            "审执质效",
            "ongoing",
            ["桓仁满族自治县人民法院", "本溪满族自治县人民法院"],
        ),
        (
            "bxzy",
            "落实审执质效“面对面”机制",
            "院级领导带领巡回点调组赴基层指导",
            "审执质效",
            today + timedelta(days=40),
            ["本溪市平山区人民法院", "本溪市溪湖区人民法院", "桓仁满族自治县人民法院"],
        ),
        (
            "fxzy",
            "选配人民法庭庭长",
            "优先选配法庭庭长，配齐配强法庭队伍",
            "队伍建设",
            today + timedelta(days=20),
            ["阜新蒙古族自治县人民法院", "彰武县人民法院"],
        ),
        (
            "fxzy",
            "推广“老哥”调解六步法",
            "总结冯家法庭调解经验，形成可复制做法",
            "多元解纷",
            today - timedelta(days=2),
            ["冯家人民法庭"],
        ),
    ]
    made = {}
    for username, title, req, category, deadline, units in items:
        actor = _user(username)
        kind = "ongoing" if deadline == "ongoing" else "date"
        task = ts.create_task(
            actor,
            project,
            title=title,
            requirements=req,
            category=cat.get(category),
            lead_leader="分管院领导",
            deadline_kind=kind,
            deadline=None if kind == "ongoing" else deadline,
            report_every="quarterly",
            now=now,
        )
        ts.assign_task(actor, task, [_unit(u) for u in units], expected_version=ANY_VERSION, now=now)
        made[title] = task
    # 依赖 (issue 15): the service stations wait for the signs (华来 has not finished them).
    from app.tasks import links

    links.add_link(
        _user("bxzy"), made["完善诉讼服务站点建设"], made["规范人民法庭标识标牌"], kind="depends", now=now
    )
    # One item already done at 田师付, one reported and waiting for review at 华来.
    tsf = db.session.scalar(select(Assignment).where(Assignment.unit_id == _unit("田师付人民法庭").id))
    ts.add_report(
        _user("tsft"),
        tsf,
        text="标识标牌已按标准更换完毕。",
        percent=100,
        files=[],
        submit=True,
        expected_version=ANY_VERSION,
        now=now,
    )
    ts.review(
        _user("bxzy"), tsf, decision="approve", comment="标识规范", expected_version=ANY_VERSION, now=now
    )
    head = _user("hlft")
    hl = db.session.scalar(
        select(Assignment)
        .join(Assignment.task)
        .where(
            Assignment.unit_id == _unit("华来人民法庭").id, Assignment.deadline == today + timedelta(days=3)
        )
    )
    ts.acknowledge(head, hl, expected_version=ANY_VERSION, now=now)
    ts.add_report(
        head,
        hl,
        text="自助设备已到位，正在安装调试。",
        percent=60,
        files=[],
        expected_version=ANY_VERSION,
        now=now,
    )
    # Milestones (the calendar's ◆ and the Gantt's diamonds): one met, one ahead.
    for title, due in (
        ("自助设备到货验收", today - timedelta(days=4)),
        ("安装调试完成", today + timedelta(days=2)),
    ):
        step = ts.add_step(
            head, hl, kind="milestone", title=title, due=due, expected_version=ANY_VERSION, now=now
        )
        if due < today:
            ts.toggle_step(head, step, done=True, files=[], expected_version=ANY_VERSION, now=now)
    return len(items)


def load_demo_visits(now: datetime) -> int:
    """Pairings, a recorded 蹲点 visit with findings, a planned visit and one whose date
    passed without a record — relative to the day the demo is loaded. Skipped if present."""
    from datetime import timedelta

    from app.timeutil import to_local
    from app.visits import services as vs
    from app.visits.models import Visit, VisitKind

    if db.session.scalar(select(Visit.id).limit(1)):
        return 0
    today = to_local(now).date()
    kinds = {k.name: k for k in db.session.scalars(select(VisitKind))}
    leader, assigner = _user("bxzy_ld"), _user("bxzy")
    vs.pair(assigner, leader, _unit("桓仁满族自治县人民法院"), now=now)
    vs.pair(assigner, leader, _unit("本溪满族自治县人民法院"), now=now)
    done = vs.create_visit(
        leader,
        kind=kinds["蹲点指导"],
        organizer=_unit("本溪市中级人民法院"),
        title="田师付法庭蹲点指导",
        planned_start=today - timedelta(days=12),
        planned_end=today - timedelta(days=10),
        leaders=[leader],
        targets=[_unit("田师付人民法庭")],
        team="审管办 王某、政治部 李某",
        topics="审执质效、法庭建设",
        now=now,
    )
    vs.record_visit(
        leader,
        done,
        actual_start=today - timedelta(days=12),
        actual_end=today - timedelta(days=10),
        summary="听取法庭工作汇报，旁听庭审两次，查阅卷宗二十件。",
        suggestions="加强诉前调解与乡镇综治中心的衔接。",
        solved_on_spot="协调解决法庭车辆调配问题。",
        topics=None,
        team=None,
        files=[],
        expected_version=ANY_VERSION,
        now=now,
    )
    vs.add_finding(
        leader,
        done,
        unit=_unit("田师付人民法庭"),
        description="部分卷宗归档不及时，存在超期未归档案件",
        deadline=today + timedelta(days=20),
        now=now,
    )
    vs.create_visit(
        leader,
        kind=kinds["调研走访"],
        organizer=_unit("本溪市中级人民法院"),
        title="华来法庭“五化”建设调研",
        planned_start=today + timedelta(days=5),
        planned_end=today + timedelta(days=5),
        leaders=[leader],
        targets=[_unit("华来人民法庭"), _unit("二棚甸子人民法庭")],
        topics="对标对表“五化”标准",
        now=now,
    )
    vs.create_visit(
        leader,
        kind=kinds["人民法庭“大走访”"],
        organizer=_unit("本溪市中级人民法院"),
        title="南芬区法院大走访",
        planned_start=today - timedelta(days=3),
        planned_end=today - timedelta(days=3),
        leaders=[leader],
        targets=[_unit("下马塘人民法庭")],
        now=now,
    )
    return 3


def load_demo_checklists(now: datetime) -> int:
    """The 五化 standard applied to 桓仁's tribunals: some items claimed, one verified."""
    from datetime import timedelta

    from app.checklists import services as cs
    from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate
    from app.timeutil import to_local

    if db.session.scalar(select(Checklist.id).limit(1)):
        return 0
    template = db.session.scalar(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.family == "wuhua", ChecklistTemplate.status == "published")
        .order_by(ChecklistTemplate.version.desc())
    )
    if template is None:
        return 0
    huanren = _unit("桓仁满族自治县人民法院")
    tribunals = list(db.session.scalars(select(Unit).where(Unit.parent_id == huanren.id).order_by(Unit.id)))
    due = to_local(now).date() + timedelta(days=90)
    checklists = cs.apply_template(_user("bxzy"), template, tribunals, due=due, now=now)
    hualai = next(c for c in checklists if c.unit_id == _unit("华来人民法庭").id)
    entries = list(
        db.session.scalars(
            select(ChecklistEntry)
            .where(ChecklistEntry.checklist_id == hualai.id, ChecklistEntry.evidence_required.is_(False))
            .order_by(ChecklistEntry.sort_order)
            .limit(3)
        )
    )
    for entry in entries:
        cs.claim_entry(
            _user("hlft"), entry, comment="已按标准落实", files=[], expected_version=ANY_VERSION, now=now
        )
    if entries:
        cs.verify_entry(
            _user("bxzy"),
            entries[0],
            decision="verified",
            comment="核验属实",
            expected_version=ANY_VERSION,
            now=now,
        )
    return len(checklists)


DEMO_HISTORY_PROJECT = "人民法庭工作台账月报"
HISTORY_MONTHS = 5


def load_demo_history(now: datetime) -> int:
    """Five past months of monthly reports from every base court, all closed — most on
    time, some late, differently for each court and month — so that the trends and the
    month-on-month ranking changes have something to show. Dates relative to the day
    the demo is loaded; nothing open, so no reminder fires for them. Skipped if present."""
    from datetime import date, time, timedelta

    from app.deadlines import add_months, month_end
    from app.tasks import services as ts
    from app.tasks.models import Project
    from app.timeutil import to_local

    if db.session.scalar(select(Project.id).where(Project.name == DEMO_HISTORY_PROJECT)):
        return 0
    today = to_local(now).date()
    reviewer = _user("lnfy")
    first = add_months(date(today.year, today.month, 1), -HISTORY_MONTHS)
    project = ts.create_project(
        reviewer,
        name=DEMO_HISTORY_PROJECT,
        owner_unit=_unit("辽宁省高级人民法院"),
        start=first,
        end=month_end(today.year, today.month),
        description="各基层法院每月报送人民法庭工作台账（演示数据：历史月份）。",
        now=now,
    )
    courts = list(
        db.session.scalars(
            select(Unit)
            .where(Unit.level == "base", Unit.is_active.is_(True))
            .order_by(Unit.sort_order, Unit.id)
        )
    )

    made = 0
    for j in range(HISTORY_MONTHS):
        start = add_months(first, j)
        deadline = month_end(start.year, start.month)
        created = datetime.combine(start, time(1, 0))  # 09:00 in Shanghai, stored as naive UTC
        task = ts.create_task(
            reviewer,
            project,
            title=f"报送{start.year}年{start.month}月人民法庭工作台账",
            requirements="按月汇总人民法庭收结案、巡回审判和诉源治理情况",
            deadline_kind="date",
            deadline=deadline,
            now=created,
        )
        for a in ts.assign_task(reviewer, task, courts, expected_version=ANY_VERSION, now=created):
            i = courts.index(a.unit)
            pattern = (i * 3 + j * 5) % 7
            closed_on = (
                deadline - timedelta(days=pattern) if pattern < 5 else deadline + timedelta(days=pattern * 2)
            )
            closed_on = min(closed_on, today)
            a.status, a.progress, a.closed_on = "closed", 100, closed_on
            a.acknowledged_at = a.submitted_at = a.closed_at = datetime.combine(closed_on, time(2, 0))
            made += 1
    db.session.flush()
    return made
