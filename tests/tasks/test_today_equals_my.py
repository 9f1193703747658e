"""今日工作 (/today) and 我的工作 (/my) show the same sections with the same counts for
every user: both are rendered from one function (app.tasks.queries.my_work), and on a
world with an item in every section the two pages list the same items under the same
headings as that function says — for a tribunal head, a base court's coordinator, an
intermediate court's assigner, the high court's reviewer and a visiting leader."""

from __future__ import annotations

import re
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import lxml.html
import pytest
import time_machine
from sqlalchemy import select

from app.tasks import services
from app.tasks.models import Assignment
from app.tasks.queries import my_work
from app.visits import services as visit_services
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 20, 2, 0)  # 2026-06-20 10:00 in Shanghai: when the world is made
TODAY = date(2026, 6, 25)  # when the pages are read


def _item(actor, project, title: str, deadline: date, *units):
    t = factories.task(actor, project, title=title, deadline=deadline, now=NOW)
    return factories.assign(actor, t, *units, now=NOW)


def _ack(user, a):
    return services.acknowledge(user, a, expected_version=a.version, now=NOW)


def _submit(user, a, text: str = "已完成"):
    services.add_report(
        user, a, expected_version=a.version, text=text, percent=None, files=[], submit=True, now=NOW
    )


@pytest.fixture
def world(db, tree):
    """Items in every section of 我的工作 for 东山法庭 (trib1) and 甲一区法院 (base1), on
    2026-06-25: overdue, due soon, to acknowledge, returned, in progress, rectifications
    (in progress and to acknowledge), checklist gaps; waiting for review at base1 (a split
    to 西山法庭 submitted), at inter1 (base1's report) and at the high court (inter1's
    report); extension requests for base1 and inter1; a rectification for the leader to verify."""
    u = factories.task_users(tree)
    u.leader = factories.user("jz_ld", tree.inter1, ["leader"], display_name="甲市中院院长")
    db.session.commit()
    p = factories.project(u.assigner, now=NOW)
    t1, b1 = tree.trib1, tree.base1
    _item(u.assigner, p, "逾期的事项", date(2026, 6, 10), t1, b1)
    for a in _item(u.assigner, p, "临期的事项", date(2026, 6, 28), t1, b1):
        _ack(u.trib1_head if a.unit_id == t1.id else u.base1_coord, a)
    _item(u.assigner, p, "待签收的事项", date(2026, 9, 30), t1, b1)
    for a in _item(u.assigner, p, "被退回的事项", date(2026, 10, 31), t1, b1):
        who = u.trib1_head if a.unit_id == t1.id else u.base1_coord
        _ack(who, a)
        _submit(who, a)
        services.review(
            u.assigner, a, decision="return", comment="材料不全", expected_version=a.version, now=NOW
        )
    for a in _item(u.assigner, p, "承办中的事项", date(2026, 11, 30), t1, b1):
        _ack(u.trib1_head if a.unit_id == t1.id else u.base1_coord, a)
    (mine,) = _item(u.assigner, p, "甲一区已报审的事项", date(2026, 11, 15), b1)
    _ack(u.base1_coord, mine)
    _submit(u.base1_staff, mine)
    (parent,) = _item(u.assigner, p, "分解到西山的事项", date(2026, 12, 15), b1)
    (child,) = services.split_assignment(
        u.base1_coord, parent, [tree.trib2], expected_version=parent.version, now=NOW
    )
    _ack(u.trib2_head, child)
    _submit(u.trib2_head, child)
    (parent2,) = _item(u.assigner, p, "西山申请延期的事项", date(2026, 10, 20), b1)
    (child2,) = services.split_assignment(
        u.base1_coord, parent2, [tree.trib2], expected_version=parent2.version, now=NOW
    )
    _ack(u.trib2_head, child2)
    services.request_extension(
        u.trib2_head,
        child2,
        new_deadline=date(2026, 11, 20),
        reason="等待验收",
        expected_version=child2.version,
        now=NOW,
    )
    (ext,) = _item(u.assigner, p, "东山申请延期的事项", date(2026, 10, 10), t1)
    _ack(u.trib1_head, ext)
    services.request_extension(
        u.trib1_head,
        ext,
        new_deadline=date(2026, 12, 10),
        reason="工程未完",
        expected_version=ext.version,
        now=NOW,
    )
    # The high court assigns to inter1: one reported (the reviewer's to review), one not yet acknowledged.
    hp = factories.project(u.high_assigner, name="省院项目", now=NOW)
    (up,) = _item(u.high_assigner, hp, "中院已报审的事项", date(2026, 9, 1), tree.inter1)
    _ack(u.assigner, up)
    _submit(u.assigner, up)
    _item(u.high_assigner, hp, "中院待签收的事项", date(2026, 9, 15), tree.inter1)
    # A visit by inter1's leader: rectifications for trib1 (one acknowledged, one not, one
    # answered and waiting for the leader's 销号) and for base1.
    visit = factories.visit(u.leader, tree.inter1, [u.leader], [t1, b1], start=date(2026, 6, 1), now=NOW)
    rects = []
    for unit, text in (
        (t1, "卷宗归档不及时"),
        (t1, "标识不规范"),
        (t1, "台账缺失"),
        (b1, "诉讼服务窗口不足"),
    ):
        f = visit_services.add_finding(
            u.leader, visit, unit=unit, description=text, deadline=date(2026, 9, 30), now=NOW
        )
        rects.append(visit_services.rectification_of(f))
    _ack(u.trib1_head, rects[0])
    _ack(u.trib1_head, rects[2])
    _submit(u.trib1_head, rects[2], "已整改")
    _ack(u.base1_coord, rects[3])
    # Checklists of the test standard for trib1 and base1: one entry claimed, one rejected, the rest missing.
    template = factories.checklist_template(now=NOW)
    for checklist in factories.apply_checklist(u.assigner, template, t1, b1, due=date(2026, 9, 30), now=NOW):
        factories.set_entry(checklist, "A-1", "claimed")
        factories.set_entry(checklist, "B-1", "rejected")
    db.session.commit()
    return SimpleNamespace(u=u, t=tree, project=p)


@pytest.fixture
def june25():
    with time_machine.travel(datetime(2026, 6, 25, 9, 0, tzinfo=SH), tick=False):
        yield


WHO = ["trib1_head", "base1_coord", "assigner", "reviewer", "leader"]

# What each of them must find, at least (so that an empty page cannot pass).
EXPECTED = {
    "trib1_head": {
        "overdue",
        "due_soon",
        "to_acknowledge",
        "returned",
        "rectifications",
        "in_progress",
        "gaps",
    },
    "base1_coord": {
        "overdue",
        "due_soon",
        "to_acknowledge",
        "returned",
        "rectifications",
        "in_progress",
        "gaps",
        "to_review",
        "extension_requests",
    },
    "assigner": {"to_acknowledge", "to_review", "extension_requests"},
    "reviewer": {"to_review"},
    "leader": {"to_review"},
}

ROW_LINK = re.compile(r"/assignments/(\d+)|/checklists/\d+#e(\d+)")


def _sections(html: str) -> dict[str, tuple[int, list[str]]]:
    """{section: (the count it shows, the items it lists in order)} of a page: the count
    from the heading, which must be the card's data-count; an item by its main link."""
    doc = lxml.html.fromstring(html)
    out = {}
    for card in doc.xpath("//*[@data-section]"):
        heading = card.xpath(".//h2")[0].text_content()
        shown = int(re.search(r"（(\d+)）", heading).group(1))
        assert shown == int(card.get("data-count")), heading
        rows = []
        for a in card.xpath(".//a[@href]"):
            m = ROW_LINK.fullmatch(a.get("href"))
            if m and not a.get("data-testid"):
                rows.append(f"a{m.group(1)}" if m.group(1) else f"e{m.group(2)}")
        out[card.get("data-section")] = (shown, rows)
    return out


def _expected(work) -> dict[str, tuple[int, list[str]]]:
    return {
        s.key: (
            s.total,
            [
                f"e{r.id}" if s.kind == "entry" else f"a{r.assignment_id if s.kind == 'extension' else r.id}"
                for r in s.rows
            ],
        )
        for s in work.sections
    }


@pytest.mark.parametrize("who", WHO)
def test_today_shows_what_my_work_shows(db, world, as_user, june25, who):
    """The sections of /today, their counts and their rows are those of /my, which are
    those my_work() returns; and the sections this user must act on are not empty."""
    user = getattr(world.u, who)
    c = as_user(user)
    my = _sections(c.get("/my").get_data(as_text=True))
    today = _sections(c.get("/today").get_data(as_text=True))
    work = my_work(user, TODAY)
    assert today == my
    assert my == _expected(work)
    assert list(my) == [s.key for s in work.sections]  # the same order too
    assert EXPECTED[who] <= {k for k, (n, _) in my.items() if n}, my
    for key, (n, rows) in my.items():
        assert n == len(rows), key  # nothing here is cut short


def test_every_open_item_of_the_unit_is_in_exactly_one_section(db, world, june25):
    """东山法庭's open items that wait for it (pending, in progress, returned) each appear
    once, in the section its deadline and status say."""
    u = world.u
    work = my_work(u.trib1_head, TODAY)
    listed = [
        a.id
        for key in ("overdue", "due_soon", "to_acknowledge", "returned", "rectifications", "in_progress")
        for a in getattr(work, key)
    ]
    assert len(listed) == len(set(listed))
    waiting = set(
        db.session.scalars(
            select(Assignment.id).where(
                Assignment.unit_id == world.t.trib1.id,
                Assignment.status.in_(("pending", "in_progress", "returned")),
            )
        )
    )
    assert set(listed) == waiting
    titles = {
        key: sorted(a.task.title for a in getattr(work, key))
        for key in ("overdue", "due_soon", "returned", "in_progress")
    }
    assert titles == {
        "overdue": ["逾期的事项"],
        "due_soon": ["临期的事项"],
        "returned": ["被退回的事项"],
        "in_progress": ["东山申请延期的事项", "承办中的事项"],
    }
    assert [a.task.kind for a in work.rectifications] == ["rectification"]
    assert sorted(a.task.kind for a in work.to_acknowledge) == ["rectification", "task"]
    assert [e.code for e in work.gaps] == ["A-2", "B-1", "B-2"]  # A-1 is claimed: not a gap


def test_the_coordinator_sees_what_waits_for_acknowledgement_on_today(db, tree, as_user, june25):
    """Regression (hrfy): three items waiting for 签收 — /my said 待签收（3）, /today said
    共 0 项待办. Now /today lists the three under 待签收 and counts them."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    ids = [_item(u.assigner, p, f"待签收{i}", date(2026, 9, 1 + i), tree.base1)[0].id for i in range(3)]
    db.session.commit()
    c = as_user(u.base1_coord)
    html = c.get("/today").get_data(as_text=True)
    assert _sections(html)["to_acknowledge"] == (3, [f"a{i}" for i in ids])
    assert "共 3 项待办" in html
    assert _sections(c.get("/my").get_data(as_text=True))["to_acknowledge"] == (3, [f"a{i}" for i in ids])


def test_a_long_section_shows_its_full_count(db, tree, as_user, june25):
    """Past the rows listed, the heading still counts them all, on both pages alike."""
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    for i in range(4):
        _item(u.assigner, p, f"待签收{i}", date(2026, 9, 1 + i), tree.base1)
    db.session.commit()
    work = my_work(u.base1_coord, TODAY, limit=3)
    assert (len(work.to_acknowledge), work.totals["to_acknowledge"]) == (3, 4)
    assert work.sections[[s.key for s in work.sections].index("to_acknowledge")].more


@pytest.mark.parametrize("who", WHO)
def test_statement_counts(db, world, as_user, count_queries, june25, who):
    """Both pages send the same statements, fewer than before they were one (/my 10, /today 8)."""
    c = as_user(getattr(world.u, who))
    counts = {}
    for path in ("/my", "/today"):
        with count_queries() as q:
            assert c.get(path).status_code == 200
        counts[path] = len(q)
    print(f"\nSTATEMENTS {who}: {counts}")
    assert counts["/my"] == counts["/today"] <= 8, counts
