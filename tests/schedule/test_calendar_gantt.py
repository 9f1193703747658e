"""日历与甘特图: the calendar's per-day counts equal a recount from the items (effective
deadlines after an extension, closed items never overdue), the scope (another court's
items never counted nor shown), the Gantt's rows, bars, percent, overdue and milestone
shapes, its pages and unit filter, the SQL statement counts, and bad input."""

from __future__ import annotations

import re
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from app import authz
from app.extensions import db as _db
from app.schedule.queries import day_counts
from app.tasks import services
from app.tasks.models import Assignment, AssignmentStep
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai: when the items were assigned
TODAY = date(2026, 3, 20)  # the pages are looked at on this day
FROZEN = datetime(2026, 3, 20, 10, 0, tzinfo=SH)


@pytest.fixture(autouse=True)
def _clock():
    """Every page here is looked at on 2026-03-20 (logins included)."""
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def w(db, tree):
    """inter1's project: item 1 (due 03-10) to base1 (closed) and base2 (open → overdue);
    item 2 (due 03-25, extended to 03-28) to base1 at 40 %, with a milestone due 03-15.
    inter2's project: an item due 03-10 to base3 (another court's)."""
    u = factories.task_users(tree)
    factories.receivers(tree.base2, tree.base3)
    p = factories.project(u.assigner, now=NOW)
    t1 = factories.task(u.assigner, p, title="选配人民法庭庭长", deadline=date(2026, 3, 10), now=NOW)
    closed, overdue = factories.assign(u.assigner, t1, tree.base1, tree.base2, now=NOW)
    t2 = factories.task(u.assigner, p, title="完善诉讼服务站点", deadline=date(2026, 3, 25), now=NOW)
    (extended,) = factories.assign(u.assigner, t2, tree.base1, now=NOW)
    staff = u.base1_staff
    services.add_report(
        staff,
        closed,
        text="已完成",
        percent=100,
        files=[],
        submit=True,
        expected_version=closed.version,
        now=NOW,
    )
    services.review(
        u.assigner, closed, decision="approve", comment=None, expected_version=closed.version, now=NOW
    )
    services.add_report(
        staff, extended, text="推进中", percent=40, files=[], expected_version=extended.version, now=NOW
    )
    req = services.request_extension(
        staff,
        extended,
        new_deadline=date(2026, 3, 28),
        reason="场地改造",
        expected_version=extended.version,
        now=NOW,
    )
    services.decide_extension(
        u.assigner, req, grant=True, comment=None, expected_version=extended.version, now=NOW
    )
    step = services.add_step(
        staff,
        extended,
        kind="milestone",
        title="完成选址",
        due=date(2026, 3, 15),
        expected_version=extended.version,
        now=NOW,
    )
    other_p = factories.project(u.inter2_assigner, name="乙市项目", now=NOW)
    t3 = factories.task(u.inter2_assigner, other_p, title="乙市事项", deadline=date(2026, 3, 10), now=NOW)
    (other,) = factories.assign(u.inter2_assigner, t3, tree.base3, now=NOW)
    db.session.commit()
    return SimpleNamespace(
        t=tree,
        u=u,
        p=p,
        other_p=other_p,
        closed=closed,
        overdue=overdue,
        extended=extended,
        other=other,
        step=step,
    )


def _recount(user, first: date, last: date, today: date) -> dict[date, tuple[int, int, int]]:
    """The calendar's counts recomputed item by item, through the per-object policy."""
    out: dict[date, list[int]] = {}
    for a in _db.session.scalars(select(Assignment)):
        if a.deadline and first <= a.deadline <= last and authz.sees(user, a):
            c = out.setdefault(a.deadline, [0, 0, 0])
            c[0] += 1
            c[1] += a.status != "closed" and a.deadline < today
    for s in _db.session.scalars(select(AssignmentStep).where(AssignmentStep.kind == "milestone")):
        if (
            s.due
            and first <= s.due <= last
            and authz.sees(user, _db.session.get(Assignment, s.assignment_id))
        ):
            out.setdefault(s.due, [0, 0, 0])[2] += 1
    return {d: tuple(c) for d, c in out.items()}


def _cells(html: str) -> dict[str, dict[str, int]]:
    """The month grid's counts per day, as the page shows them."""
    cells = {}
    for day, body in re.findall(r'data-day="([\d-]+)">(.*?)</td>', html, re.S):
        counts = dict(re.findall(r'data-count="(\w+)">\D*(\d+)', body))
        cells[day] = {k: int(v) for k, v in counts.items()}
    return cells


def test_day_counts_equal_a_recount_for_every_viewer(w):
    """Per day: due (effective deadline), overdue (open and past), milestones — as a recount finds."""
    first, last = date(2026, 2, 23), date(2026, 4, 5)
    for user in (w.u.assigner, w.u.base1_staff, w.u.inter2_assigner, w.u.reviewer, w.u.trib1_head):
        got = {d: (c.due, c.overdue, c.milestones) for d, c in day_counts(user, first, last, TODAY).items()}
        assert got == _recount(user, first, last, TODAY), user.username
    mine = day_counts(w.u.assigner, first, last, TODAY)
    assert (mine[date(2026, 3, 10)].due, mine[date(2026, 3, 10)].overdue) == (
        2,
        1,
    )  # the closed one is not overdue
    assert date(2026, 3, 25) not in mine and mine[date(2026, 3, 28)].due == 1  # the extension moved it
    assert mine[date(2026, 3, 15)].milestones == 1


def test_month_page_shows_the_counts_today_and_month_links(w, as_user, count_queries):
    """The grid shows each day's counts (one grouped query), marks today, links the months."""
    c = as_user(w.u.assigner)
    with count_queries() as statements:
        resp = c.get("/calendar")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    cells = _cells(html)
    assert cells["2026-03-10"] == {"due": 2, "overdue": 1}
    assert cells["2026-03-15"] == {"milestones": 1}
    assert cells["2026-03-28"] == {"due": 1}
    assert cells["2026-03-25"] == {}
    assert re.search(r'class="[^"]*today"[^>]*aria-current="date" data-day="2026-03-20"', html)
    assert "?month=2026-02" in html and "?month=2026-04" in html
    grouped = [s for s in statements if "GROUP BY" in s.upper() and "assignment_steps" in s]
    assert len(grouped) == 1, grouped
    assert len(statements) <= 15, statements


def test_another_courts_items_are_never_counted_or_shown(w, as_user):
    """inter2's item due 03-10 counts for inter2 and the high court, never for inter1 or base1."""
    for user, due in (
        (w.u.assigner, 2),
        (w.u.base1_staff, 1),
        (w.u.inter2_assigner, 1),
        (w.u.reviewer, 3),
    ):
        html = as_user(user).get("/calendar?month=2026-03").get_data(as_text=True)
        assert _cells(html)["2026-03-10"].get("due") == due, user.username
    day = as_user(w.u.assigner).get("/calendar/2026-03-10").get_data(as_text=True)
    assert f"/assignments/{w.overdue.id}" in day and f"/assignments/{w.closed.id}" in day
    assert f"/assignments/{w.other.id}" not in day and "乙市事项" not in day


def test_day_page_lists_items_and_milestones_a_page_at_a_time(w, as_user, count_queries, db):
    """The day's items link to their pages; a milestone shows under its item; 10 a page."""
    c = as_user(w.u.base1_staff)
    html = c.get("/calendar/2026-03-15").get_data(as_text=True)
    assert "完成选址" in html and f"/assignments/{w.extended.id}" in html and "里程碑" in html
    t = factories.task(w.u.assigner, w.p, title="批量事项", deadline=date(2026, 3, 31), now=NOW)
    factories.assign(w.u.assigner, t, w.t.base1, now=NOW)
    for n in range(11):
        services.add_step(
            w.u.base1_staff,
            w.extended,
            kind="milestone",
            title=f"节点{n}",
            due=date(2026, 3, 31),
            expected_version=w.extended.version,
            now=NOW,
        )
    db.session.commit()
    with count_queries() as statements:
        first = c.get("/calendar/2026-03-31?size=10").get_data(as_text=True)
    second = c.get("/calendar/2026-03-31?size=10&page=2").get_data(as_text=True)
    assert len(statements) <= 15, statements
    assert first.count("<tr data-assignment=") == 10 and second.count("<tr data-assignment=") == 2
    assert "批量事项" in first and "共 12 条" in first  # the item first, then its milestones


@pytest.mark.parametrize(
    "url",
    [
        "/calendar?month=2026-13",
        "/calendar?month=9999-99",
        "/calendar?month=abc",
        "/calendar?month=2026-00",
        "/calendar?month=1899-12",
        "/calendar?month=" + "9" * 100_000,
        "/calendar?month=2026-03%00",
        "/calendar/2026-02-30",
        "/calendar/2026-13-01",
        "/calendar/abc",
        "/calendar/9999-12-31",
        "/calendar/" + "1" * 5000,
    ],
)
def test_bad_dates_get_a_clear_400(w, as_user, url):
    """A month or day that does not exist: 400 with a Chinese message, never a 500."""
    resp = as_user(w.u.assigner).get(url)
    assert resp.status_code == 400, url
    assert "格式应为" in resp.get_data(as_text=True) or "无法" in resp.get_data(as_text=True)


def test_last_and_first_months_have_no_link_beyond_the_range(w, as_user):
    c = as_user(w.u.assigner)
    assert "?month=2101-01" not in c.get("/calendar?month=2100-12").get_data(as_text=True)
    assert c.get("/calendar/2100-12-31").status_code == 200


# ---------------------------------------------------------------- the Gantt chart


def _charts(html: str) -> tuple[str, str]:
    """The desktop chart and the phone's (the same rows, names above the bars)."""
    desktop = re.search(r'<svg[^>]*data-testid="gantt".*?</svg>', html, re.S)
    phone = re.search(r'<svg[^>]*data-testid="gantt-phone".*?</svg>', html, re.S)
    return (desktop[0] if desktop else ""), (phone[0] if phone else "")


def _rows(svg: str) -> dict[int, dict]:
    """Each row of the chart: its state, percent and whether it has a milestone."""
    out = {}
    for aid, state, body in re.findall(
        r'<g class="gantt-row" data-assignment="(\d+)" data-state="(\w+)">(.*?)</g>', svg, re.S
    ):
        out[int(aid)] = {
            "state": state,
            "percent": int(re.search(r'class="bar-progress" data-percent="(\d+)"', body)[1]),
            "milestones": len(re.findall(r'<path class="milestone', body)),
        }
    return out


def test_gantt_rows_bars_percent_overdue_and_milestones(w, as_user):
    """Rows by unit, each bar filled to its progress, overdue / closed marked, milestone diamonds."""
    resp = as_user(w.u.assigner).get(f"/projects/{w.p.id}/gantt")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    desktop, phone = _charts(html)
    rows = _rows(desktop)
    assert _rows(phone) == rows
    assert rows == {
        w.closed.id: {"state": "closed", "percent": 100, "milestones": 0},
        w.overdue.id: {"state": "overdue", "percent": 0, "milestones": 0},
        w.extended.id: {"state": "open", "percent": 40, "milestones": 1},
    }
    units = re.findall(r'<g class="gantt-unit">.*?<text[^>]*>([^<（]+)（(\d+)）', desktop, re.S)
    assert units == [("甲一区人民法院", "2"), ("甲二区人民法院", "1")]
    assert '<g class="today">' in desktop and 'class="month"' in desktop
    assert desktop.count('<path class="milestone') == 1
    assert "style=" not in html.split("<main", 1)[1]  # the CSP allows no inline style
    project_page = as_user(w.u.assigner).get(f"/projects/{w.p.id}").get_data(as_text=True)
    assert f"/projects/{w.p.id}/gantt" in project_page


def test_gantt_shows_only_the_viewers_scope(w, as_user, db):
    """A project set above is visible below, with only the items of the viewer's scope;
    a project beside is 404."""
    hp = factories.project(w.u.high_assigner, name="全省项目", now=NOW)
    t = factories.task(w.u.high_assigner, hp, title="全省事项", now=NOW)
    mine, theirs = factories.assign(w.u.high_assigner, t, w.t.inter1, w.t.inter2, now=NOW)
    db.session.commit()
    c = as_user(w.u.assigner)
    assert set(_rows(c.get(f"/projects/{hp.id}/gantt").get_data(as_text=True))) == {mine.id}
    assert c.get(f"/projects/{w.other_p.id}/gantt").status_code == 404
    assert c.get(f"/projects/{2**63}/gantt").status_code == 404
    assert set(_rows(as_user(w.u.base1_staff).get(f"/projects/{w.p.id}/gantt").get_data(as_text=True))) == {
        w.closed.id,
        w.extended.id,
    }


def test_gantt_pages_and_unit_filter_cost_the_same_few_statements(w, as_user, db, count_queries):
    """10 rows a page, then the rest; a unit's subtree only; ≤ 15 statements whatever the page."""
    for n in range(10):
        t = factories.task(w.u.assigner, w.p, title=f"事项{n}", deadline=date(2026, 4, 1 + n), now=NOW)
        factories.assign(w.u.assigner, t, w.t.base1, now=NOW)
    db.session.commit()
    c = as_user(w.u.assigner)
    counts = []
    for query in ("size=10", "size=10&page=2", f"unit={w.t.base2.id}", f"unit={2**63}&page={2**63}"):
        with count_queries() as statements:
            resp = c.get(f"/projects/{w.p.id}/gantt?{query}")
        assert resp.status_code == 200, query
        counts.append(len(statements))
        rows = _rows(resp.get_data(as_text=True))
        if query == "size=10":
            assert len(rows) == 10 and "共 13 条" in resp.get_data(as_text=True)
        elif query == "size=10&page=2":
            assert len(rows) == 3
        elif query == f"unit={w.t.base2.id}":
            assert set(rows) == {w.overdue.id}  # base2's subtree only
    assert max(counts) <= 15, counts
