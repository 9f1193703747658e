"""The province roll-up checked against a hand-built fixture whose answers are known,
the SQL traffic light against the Python one, every figure against the list behind
it, and the number of SQL statements against the size of the province."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.dashboard import queries
from app.extensions import db
from app.tasks.models import Assignment, Category
from app.tasks.queries import AssignmentFilters, assignments_query, traffic_light_of
from tests import factories

TODAY = date(2026, 6, 20)
CREATED = datetime(2026, 3, 1, 4, 0)  # naive UTC: 2026-03-01 12:00 in Asia/Shanghai


def _item(
    people, project, unit, title, *, deadline, status="in_progress", closed_on=None, progress=0, kind="task"
):
    task = factories.task(people.high_assigner, project, title=title, deadline=deadline or date(2026, 12, 31))
    if kind == "task":
        (a,) = factories.assign(people.high_assigner, task, unit)
    else:  # a rectification is made by a visit; here only its kind matters (fixed once assigned)
        task.kind = kind
        a = Assignment(task_id=task.id, unit_id=unit.id, assigned_by_unit_id=task.owner_unit_id)
        db.session.add(a)
    a.deadline, a.status, a.closed_on, a.progress, a.created_at = (
        deadline,
        status,
        closed_on,
        progress,
        CREATED,
    )
    return a


@pytest.fixture
def province(db, tree):
    """Ten items placed so that every figure is known (today = 2026-06-20):

    trib1: closed on time · closed late · overdue (red)
    trib2: due in 5 days (yellow) · behind pace (yellow: 52 % of the time gone, 0 % done) · on pace (green)
    base1: no deadline (green); plus a split of it to trib1, overdue — a split is not counted
    base2: open rectification on pace (green);  trib3: rectification closed on time
    base3 (under inter2): closed on the deadline day
    """
    people = factories.task_users(tree)
    project = factories.project(people.high_assigner, tree.high)
    other = factories.project(people.high_assigner, tree.high, name="另一个项目")
    a = SimpleNamespace()
    a.t1_on_time = _item(
        people,
        project,
        tree.trib1,
        "一",
        deadline=date(2026, 6, 10),
        status="closed",
        closed_on=date(2026, 6, 8),
    )
    a.t1_late = _item(
        people,
        project,
        tree.trib1,
        "二",
        deadline=date(2026, 6, 10),
        status="closed",
        closed_on=date(2026, 6, 15),
    )
    a.t1_overdue = _item(people, project, tree.trib1, "三", deadline=date(2026, 6, 15))
    a.t2_soon = _item(people, project, tree.trib2, "四", deadline=date(2026, 6, 25), progress=90)
    a.t2_behind = _item(people, project, tree.trib2, "五", deadline=date(2026, 9, 30), progress=0)
    a.t2_on_pace = _item(people, project, tree.trib2, "六", deadline=date(2026, 9, 30), progress=60)
    a.b1_open = _item(people, project, tree.base1, "七", deadline=None)
    a.b2_rect = _item(
        people, project, tree.base2, "八", deadline=date(2026, 6, 30), progress=90, kind="rectification"
    )
    a.t3_rect = _item(
        people,
        project,
        tree.trib3,
        "九",
        deadline=date(2026, 6, 30),
        status="closed",
        closed_on=date(2026, 6, 1),
        kind="rectification",
    )
    a.b3_closed = _item(
        people,
        other,
        tree.base3,
        "十",
        deadline=date(2026, 5, 31),
        status="closed",
        closed_on=date(2026, 5, 31),
    )
    split = Assignment(
        task_id=a.b1_open.task_id,
        unit_id=tree.trib1.id,
        assigned_by_unit_id=tree.base1.id,
        parent_id=a.b1_open.id,
        status="in_progress",
        deadline=date(2026, 6, 1),
        created_at=CREATED,
    )
    db.session.add(split)
    # Checklists (weights A-1 2, A-2 1, B-1 3, B-2 4): trib1 verified 2 + 3 (B-2 only
    # claimed: not counted) → 0.5; trib3 verified 4 → 0.4.
    template = factories.checklist_template()
    c1, c3 = factories.apply_checklist(people.high_assigner, template, tree.trib1, tree.trib3)
    factories.set_entry(c1, "A-1", "verified")
    factories.set_entry(c1, "B-1", "verified")
    factories.set_entry(c1, "B-2", "claimed")
    factories.set_entry(c3, "B-2", "verified")
    # Visits: one done this year to trib1; one done last December to trib1 and trib3;
    # one planned (not done) to base3.
    leader = factories.user("jz_ld", tree.inter1, ["leader"])
    high_leader = factories.user("gy_ld", tree.high, ["leader"])
    v1 = factories.visit(people.assigner, tree.inter1, [leader], [tree.trib1], start=date(2026, 3, 10))
    v2 = factories.visit(
        people.assigner, tree.inter1, [leader], [tree.trib1, tree.trib3], start=date(2025, 12, 1)
    )
    factories.visit(high_leader, tree.high, [high_leader], [tree.base3], start=date(2026, 4, 1))
    for v in (v1, v2):
        v.status, v.actual_start, v.actual_end = "done", v.planned_start, v.planned_end
    db.session.commit()
    return SimpleNamespace(people=people, project=project, other=other, a=a, split=split)


def _figures(node):
    return {
        k: getattr(node, k)
        for k in (
            "total",
            "closed",
            "on_time",
            "overdue",
            "red",
            "yellow",
            "green",
            "grey",
            "rect_total",
            "rect_open",
        )
    }


def _by_id(root):
    return {n.unit_id: n for n in root.walk()}


EXPECTED = {
    # unit: total closed on_time overdue red yellow green grey rect rect_open
    "trib1": (3, 2, 1, 1, 1, 0, 0, 2, 0, 0),
    "trib2": (3, 0, 0, 0, 0, 2, 1, 0, 0, 0),
    "base1": (7, 2, 1, 1, 1, 2, 2, 2, 0, 0),
    "trib3": (1, 1, 1, 0, 0, 0, 0, 1, 1, 0),
    "base2": (2, 1, 1, 0, 0, 0, 1, 1, 2, 1),
    "inter1": (9, 3, 2, 1, 1, 2, 3, 3, 2, 1),
    "base3": (1, 1, 1, 0, 0, 0, 0, 1, 0, 0),
    "inter2": (1, 1, 1, 0, 0, 0, 0, 1, 0, 0),
    "high": (10, 4, 3, 1, 1, 2, 3, 4, 2, 1),
}
RATES = {
    "trib1": 1 / 3,
    "trib2": None,
    "base1": 1 / 3,
    "base2": 1.0,
    "inter1": 0.5,
    "inter2": 1.0,
    "high": 0.6,
}
COMPLIANCE = {
    "trib1": 0.5,
    "trib2": None,
    "base1": 0.5,
    "trib3": 0.4,
    "base2": 0.4,
    "inter1": 0.45,
    "inter2": None,
    "high": 0.45,
}
VISITS = {
    "trib1": 1,
    "trib2": 0,
    "base1": 1,
    "trib3": 0,
    "base2": 0,
    "inter1": 1,
    "base3": 0,
    "inter2": 0,
    "high": 1,
}
KEYS = ("total", "closed", "on_time", "overdue", "red", "yellow", "green", "grey", "rect_total", "rect_open")


def test_rollup_matches_the_hand_built_fixture(tree, province):
    root = queries.tree(province.people.reviewer, tree.high, queries.Filters(), TODAY)
    nodes = _by_id(root)
    for name, expected in EXPECTED.items():
        node = nodes[getattr(tree, name).id]
        assert _figures(node) == dict(zip(KEYS, expected, strict=True)), name
    for name, rate in RATES.items():
        got = nodes[getattr(tree, name).id].on_time_rate
        assert (got is None) if rate is None else got == pytest.approx(rate, abs=1e-4), name
    for name, value in COMPLIANCE.items():
        got = nodes[getattr(tree, name).id].compliance
        assert (got is None) if value is None else got == pytest.approx(value), name
    for name, value in VISITS.items():
        assert nodes[getattr(tree, name).id].visits == value, name
    # The shape: intermediate courts, then their base courts, then tribunals.
    assert [c.unit_id for c in root.children] == [tree.inter1.id, tree.inter2.id]
    assert [c.unit_id for c in nodes[tree.inter1.id].children] == [tree.base1.id, tree.base2.id]
    assert [c.unit_id for c in nodes[tree.base1.id].children] == [tree.trib1.id, tree.trib2.id]
    assert nodes[tree.base2.id].rect_closure_rate == pytest.approx(0.5)


def test_filters_project_category_and_period(tree, province):
    reviewer = province.people.reviewer
    only_other = queries.tree(reviewer, tree.high, queries.Filters(project_id=province.other.id), TODAY)
    assert (only_other.total, only_other.closed, only_other.on_time) == (1, 1, 1)
    assert [c.total for c in only_other.children] == [0, 1]
    june = queries.tree(
        reviewer, tree.high, queries.Filters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30)), TODAY
    )
    # The June deadlines: 一 二 三 四 八 九 (not 五 六 in September, 七 with none, 十 in May).
    assert (june.total, june.closed, june.on_time, june.overdue) == (6, 3, 2, 1)
    assert june.on_time_rate == pytest.approx(0.5)
    # Visits follow the period too: last December's visit counts once for inter1
    # although it went to two of its units.
    december = queries.tree(
        reviewer, tree.high, queries.Filters(date_from=date(2025, 12, 1), date_to=date(2025, 12, 31)), TODAY
    )
    nodes = _by_id(december)
    assert (december.total, december.visits) == (0, 1)
    assert (nodes[tree.inter1.id].visits, nodes[tree.trib1.id].visits, nodes[tree.trib3.id].visits) == (
        1,
        1,
        1,
    )
    category = Category(name="仪表盘测试类别")
    db.session.add(category)
    db.session.flush()
    province.a.t2_soon.task.category_id = category.id
    db.session.commit()
    by_category = queries.tree(reviewer, tree.high, queries.Filters(category_id=category.id), TODAY)
    assert (by_category.total, by_category.yellow) == (1, 1)


def test_rollup_is_scoped_to_what_the_user_sees(tree, province):
    """base1's coordinator rooted at base1 sees base1's subtree only; a sibling's
    unit is not in the tree."""
    root = queries.tree(province.people.base1_coord, tree.base1, queries.Filters(), TODAY)
    assert {n.unit_id for n in root.walk()} == {tree.base1.id, tree.trib1.id, tree.trib2.id}
    assert root.total == 7


def test_sql_traffic_light_is_the_python_one(tree, province):
    """Counting by light in SQL puts every item where traffic_light_of puts it."""
    reviewer = province.people.reviewer
    items = list(db.session.scalars(select(Assignment)))
    for light in ("red", "yellow", "green", "grey"):
        got = set(
            db.session.scalars(assignments_query(reviewer, AssignmentFilters(light=light), TODAY)).all()
        )
        want = {a for a in items if traffic_light_of(a, TODAY) == light}
        assert {a.id for a in got} == {a.id for a in want}, light


@pytest.mark.parametrize(
    ("key", "args"),
    [
        ("total", {}),
        ("closed", {"status": "closed"}),
        ("on_time", {"status": "on_time"}),
        ("overdue", {"status": "overdue"}),
        ("red", {"light": "red"}),
        ("yellow", {"light": "yellow"}),
        ("green", {"light": "green"}),
        ("rect_open", {"kind": "rectification", "status": "open"}),
        ("measured", {"status": "due"}),  # the on-time rate's denominator: closed + overdue
    ],
)
def test_every_figure_is_the_count_of_the_list_behind_it(tree, province, key, args):
    """The dashboard links each figure to /assignments?unit=…&top=1&…: the list must
    hold exactly that many items, for every unit of the tree."""
    reviewer = province.people.reviewer
    root = queries.tree(reviewer, tree.high, queries.Filters(), TODAY)
    for node in root.walk():
        f = AssignmentFilters(unit_id=node.unit_id, top_only=True, **args)
        stmt = assignments_query(reviewer, f, TODAY).order_by(None).subquery()
        count = db.session.scalar(select(func.count()).select_from(stmt))
        want = node.closed + node.overdue if key == "measured" else getattr(node, key)
        assert count == want, (node.name, key)


def test_the_dashboard_page_links_each_figure_to_its_list(client, tree, province, login, time_machine):
    time_machine.move_to(datetime(2026, 6, 20, 2, 0), tick=False)  # 10:00 in Shanghai
    login(province.people.reviewer)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'data-testid="kf-total">10</a>' in page
    assert f"/assignments?top=1&amp;unit={tree.high.id}&amp;status=overdue" in page
    assert 'data-testid="kf-overdue">1</a>' in page
    # The rate opens the items it is measured on: 4 closed + 1 overdue, 3 of them on time.
    assert f"/assignments?top=1&amp;unit={tree.high.id}&amp;status=due" in page
    assert "按期办结 3 ÷（已办结 4 + 逾期 1）" in page
    resp = client.get(f"/assignments?top=1&unit={tree.inter1.id}&light=yellow")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "四" in body and "五" in body and "六" not in body


def test_the_tree_escapes_a_hostile_unit_name(client, db, tree, province, login):
    """The tree's rows are written in Python (app/dashboard/tree_html.py): a unit's name
    is text there, in the row and in the expand button's label."""
    tree.base1.name = '<script>alert("x")</script>甲一区'
    db.session.commit()
    login(province.people.reviewer)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;甲一区</a>" in page
    assert 'aria-label="展开&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;甲一区的下级单位"' in page


def _grow(db, parent, people, project, n):
    for i in range(n):
        base = factories.unit(f"扩展{i}区人民法院", "base", parent)
        trib = factories.unit(f"扩展{i}人民法庭", "tribunal", base)
        factories.receivers(base, trib)
        task = factories.task(
            people.high_assigner, project, title=f"扩展事项{i}", deadline=date(2026, 6, 1 + i % 20)
        )
        factories.assign(people.high_assigner, task, base, trib)
    db.session.commit()


@pytest.mark.parametrize("path", ["/dashboard", "/", "/api/v1/dashboard", "/rankings", "/trends"])
def test_province_dashboard_query_count_does_not_grow(client, db, tree, province, login, count_queries, path):
    """A fixed handful of set-based statements, whatever the number of units and items.
    The province page sends 17: the user and roles (2), the root unit and the visible
    set (2), the tree — units, item counts, checklist compliance, visits (4) —, the
    ranking panel — courts, compliance, this month, last month (4) —, the red list (1),
    the trend (1), the filter choices (2) and the notification badge (1)."""
    login(province.people.reviewer)
    with count_queries() as small:
        assert client.get(path).status_code == 200
    _grow(db, tree.inter2, province.people, province.project, 12)
    with count_queries() as large:
        assert client.get(path).status_code == 200
    assert len(large) == len(small), f"{path}: {len(small)} → {len(large)} statements"
    assert len(large) <= 17, "\n\n".join(s[:160] for s in large)


def _waiting(people, unit, title):
    """An item inter1 assigned to `unit`, submitted and waiting for inter1's review."""
    project = factories.project(people.assigner, people.assigner.unit, name=f"甲市中院{title}")
    task = factories.task(people.assigner, project, title=title)
    (a,) = factories.assign(people.assigner, task, unit)
    a.status, a.submitted_at = "submitted", datetime(2026, 6, 18, 2, 0)
    return a


def test_intermediate_dashboard_lists_what_waits_for_review(client, db, tree, province, login):
    _waiting(province.people, tree.base1, "报送庭审直播情况")
    db.session.commit()
    login(province.people.assigner)
    page = client.get("/dashboard").get_data(as_text=True)
    panel = page[page.index('data-testid="review-panel"') :]
    assert "等待本单位审核（1）" in panel and "报送庭审直播情况" in panel


def test_intermediate_dashboard_query_count_does_not_grow(client, db, tree, province, login, count_queries):
    _waiting(province.people, tree.base1, "报送庭审直播情况")
    db.session.commit()
    login(province.people.assigner)
    with count_queries() as small:
        assert client.get("/dashboard").status_code == 200
    _grow(db, tree.inter1, province.people, province.project, 12)
    for i in range(5):
        _waiting(province.people, tree.base2, f"待审核事项{i}")
    db.session.commit()
    with count_queries() as large:
        assert client.get("/dashboard").status_code == 200
    assert len(large) == len(small)
    assert len(large) <= 18, large


def _recount(root_id: int) -> dict[int, tuple[int, int, int]]:
    """(total, closed, overdue) per unit over its subtree, counted item by item in Python."""
    from app.org.models import UnitClosure

    below: dict[int, set[int]] = {}
    for anc, desc in db.session.execute(select(UnitClosure.ancestor_id, UnitClosure.descendant_id)):
        below.setdefault(anc, set()).add(desc)
    items = db.session.scalars(select(Assignment).where(Assignment.parent_id.is_(None))).all()
    out = {}
    for uid in below[root_id]:
        mine = [a for a in items if a.unit_id in below[uid]]
        out[uid] = (
            len(mine),
            sum(a.status == "closed" for a in mine),
            sum(a.status != "closed" and a.deadline is not None and a.deadline < TODAY for a in mine),
        )
    return out


def _check_against_recount(tree, reviewer):
    root = queries.tree(reviewer, tree.high, queries.Filters(), TODAY)
    expected = _recount(tree.high.id)
    nodes = _by_id(root)
    assert nodes, "empty tree"
    for uid, node in nodes.items():
        assert (node.total, node.closed, node.overdue) == expected[uid], node.name
    return nodes


def test_rollup_equals_a_recount_after_each_kind_of_change(tree, province):
    """The per-unit counts rolled up in Python equal a recount from the items after items
    close, reopen, move deadline, a unit moves, and a unit is switched off (its items
    still count above it, though it is no longer shown)."""
    from app.org import services as org
    from app.timeutil import utcnow

    reviewer, admin = province.people.reviewer, factories.user("root_admin", tree.high, ["admin"])
    _check_against_recount(tree, reviewer)
    items = db.session.scalars(select(Assignment).where(Assignment.parent_id.is_(None))).all()
    open_one = next(i for i in items if i.status != "closed")
    open_one.status, open_one.closed_on = "closed", TODAY  # closes
    db.session.commit()
    _check_against_recount(tree, reviewer)
    open_one.status, open_one.closed_on = "in_progress", None  # reopened
    open_one.deadline = date(2026, 1, 1)  # and now overdue
    db.session.commit()
    _check_against_recount(tree, reviewer)
    org.move_unit(admin, tree.base2, tree.inter2, expected_version=tree.base2.version, now=utcnow())
    db.session.commit()
    nodes = _check_against_recount(tree, reviewer)
    assert tree.base2.id in {c.unit_id for c in nodes[tree.inter2.id].children}
    before = nodes[tree.base2.id].total
    assert nodes[tree.trib3.id].total  # trib3 holds an item
    head = province.people.trib3_head  # a unit is retired once its people are
    org.set_user_active(admin, head, False, expected_version=head.version, now=utcnow())
    org.set_unit_active(admin, tree.trib3, False, expected_version=tree.trib3.version, now=utcnow())
    db.session.commit()
    nodes = _by_id(queries.tree(reviewer, tree.high, queries.Filters(), TODAY))
    assert tree.trib3.id not in nodes  # not shown …
    assert nodes[tree.base2.id].total == before == _recount(tree.high.id)[tree.base2.id][0]  # … still counted
    for uid, node in nodes.items():
        assert (node.total, node.closed, node.overdue) == _recount(tree.high.id)[uid], node.name
