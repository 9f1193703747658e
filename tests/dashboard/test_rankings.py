"""赛马 rankings, the red list and the monthly trends: hand-counted answers for a small
province, the change arrows between two months, each metric's order, the pages, the
print view and the XLSX export."""

from __future__ import annotations

import io
from datetime import date, datetime
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from app.dashboard import rankings
from app.dashboard.rankings import period_bounds, previous_period, ranking, red_list, trend
from app.errors import ServiceError
from app.exports.xlsx import FIRST_DATA_ROW, HEADER_ROW
from app.tasks import services as task_services
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)


def _utc(y: int, m: int, d: int, hour: int = 10) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the services take."""
    return datetime(y, m, d, hour, tzinfo=SH).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


NOW = _utc(2026, 3, 2)


def _close(a, on: date) -> None:
    """Test set-up: the assignment was closed (approved) on `on`, local date."""
    a.status, a.closed_on, a.closed_at, a.progress = "closed", on, _utc(on.year, on.month, on.day), 100


@pytest.fixture
def frozen():
    """Today is 2026-06-15 in Shanghai."""
    with time_machine.travel(datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False):
        yield


@pytest.fixture
def race(db, tree):
    """A province with known answers (all made on 2026-03-02 unless told; '→' = closed on):

    April  G  base1 04-20 → 06-03 (late)    H  base3 04-10 → 04-09
           K  inter1 04-25, open, made 05-10 (so not yet overdue at April's end)
    May    A  base1 05-10 → 05-08 (rectification)   B  base1 05-20 → 05-25 (late)
           C  base1 05-31, open                     D  base2 05-15 → 05-15
           T  trib3 05-31 → 05-30 (rolls up to base2)
           E  base3 05-10 → 05-01 (rectification)   F  base3 05-12, open (rectification)
           F2 base3 05-18, open
    June   J1 base1 06-05 → 06-01   J2 base1 06-10, open   J3 base2 06-30, open
    Checklists (weights 2+1+3+4 = 10): base1 A-1, B-2 verified (6); trib1 B-1 (3);
    base3 B-1, B-2 (7)  →  base1 9/20 = 45 %, base3 70 %, base2 none.
    """
    t = tree
    u = factories.task_users(t)
    p = factories.project(u.high_assigner, name="全省强基工程", now=NOW)

    def item(unit, deadline, title, closed_on=None, now=NOW):
        task = factories.task(u.high_assigner, p, title=title, deadline=deadline, now=now)
        (a,) = factories.assign(u.high_assigner, task, unit, now=now)
        if closed_on:
            _close(a, closed_on)
        return a

    def rect(unit, deadline, description, closed_on=None):
        a = task_services.create_rectification(
            u.reviewer,
            organizer_unit=t.high,
            verifier=u.reviewer,
            unit=unit,
            description=description,
            deadline=deadline,
            now=NOW,
        )
        if closed_on:
            _close(a, closed_on)
        return a

    w = SimpleNamespace(t=t, u=u, p=p)
    w.G = item(t.base1, date(2026, 4, 20), "四月事项办结较晚", date(2026, 6, 3))
    w.H = item(t.base3, date(2026, 4, 10), "四月事项按期办结", date(2026, 4, 9))
    w.K = item(t.inter1, date(2026, 4, 25), "补交的四月事项", now=_utc(2026, 5, 10))
    w.A = rect(t.base1, date(2026, 5, 10), "诉讼服务区标识不全", date(2026, 5, 8))
    w.B = item(t.base1, date(2026, 5, 20), "五月事项逾期办结", date(2026, 5, 25))
    w.C = item(t.base1, date(2026, 5, 31), "五月事项尚未办结")
    w.D = item(t.base2, date(2026, 5, 15), "甲二区五月事项", date(2026, 5, 15))
    w.T = item(t.trib3, date(2026, 5, 31), "南山法庭五月事项", date(2026, 5, 30))
    w.E = rect(t.base3, date(2026, 5, 10), "调解室设置不规范", date(2026, 5, 1))
    w.F = rect(t.base3, date(2026, 5, 12), "巡回审判点未挂牌")
    w.F2 = item(t.base3, date(2026, 5, 18), "乙一县五月逾期事项")
    w.J1 = item(t.base1, date(2026, 6, 5), "六月事项按期办结", date(2026, 6, 1))
    w.J2 = item(t.base1, date(2026, 6, 10), "六月事项已逾期")
    w.J3 = item(t.base2, date(2026, 6, 30), "六月事项未到期")
    tpl = factories.checklist_template(u.reviewer, now=NOW)
    cl_base1, cl_trib1, cl_base3 = factories.apply_checklist(
        u.reviewer, tpl, t.base1, t.trib1, t.base3, now=NOW
    )
    for cl, codes in ((cl_base1, ("A-1", "B-2")), (cl_trib1, ("B-1",)), (cl_base3, ("B-1", "B-2"))):
        for code in codes:
            factories.set_entry(cl, code, "verified", by=u.reviewer)
    db.session.commit()
    return w


def _rows(rows):
    """(unit, rank, previous rank, change) of each row, in order."""
    return [(r.unit, r.rank, r.previous_rank, r.change) for r in rows]


def _counts(rows):
    """(unit, total, closed, on time, overdue, rate, rect total, rect closed, rect rate, compliance)."""
    return [
        (
            r.unit,
            r.total,
            r.closed,
            r.on_time,
            r.overdue,
            r.rate,
            r.rect_total,
            r.rect_closed,
            r.rect_rate,
            r.compliance,
        )
        for r in rows
    ]


B1, B2, B3 = "甲一区人民法院", "甲二区人民法院", "乙一县人民法院"
I1, I2 = "甲市中级人民法院", "乙市中级人民法院"


# ---------------------------------------------------------------- period handling


@pytest.mark.parametrize(
    "period, bounds",
    [
        ("2026-05", (date(2026, 5, 1), date(2026, 5, 31))),
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31))),
    ],
)
def test_period_bounds(period, bounds):
    assert period_bounds(period) == bounds


@pytest.mark.parametrize(
    "period", ["2026-13", "2026-00", "2026", "2026-05-01", "abc", "", "1999-05", "2101-01"]
)
def test_period_bounds_refuses_bad_input(period):
    with pytest.raises(ServiceError) as exc:
        period_bounds(period)
    assert "请按“年-月”填写，例如 2026-10" in exc.value.message and exc.value.status == 400


def test_previous_period_crosses_the_year():
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-06") == "2026-05"


def test_ranking_refuses_an_unknown_level(db, race):
    with pytest.raises(ServiceError):
        ranking(race.t.high, "tribunal", "2026-05", TODAY)


# ---------------------------------------------------------------- the ranking itself


def test_base_courts_in_may_by_rate(db, race):
    """May, by on-time rate: base2 2/2 = 100 %; base1 1/(2+1) and base3 1/(1+2) tie at 33.3 %,
    base1 first with fewer overdue. Last month (April): base3 1st, base1 2nd (0 %), base2 had
    nothing due (no comparison, shown as —)."""
    rows = ranking(race.t.high, "base", "2026-05", TODAY)
    assert _counts(rows) == [
        (B2, 2, 2, 2, 0, 1.0, 0, 0, None, None),
        (B1, 3, 2, 1, 1, 0.3333, 1, 1, 1.0, 0.45),
        (B3, 3, 1, 1, 2, 0.3333, 2, 1, 0.5, 0.7),
    ]
    assert _rows(rows) == [(B2, 1, None, None), (B1, 2, 2, 0), (B3, 3, 1, -2)]
    assert [r.parent for r in rows] == [I1, I1, I2]


def test_intermediate_courts_in_may_move_up_and_down(db, race):
    """inter1 (base1 + base2: 3 on time ÷ (4 closed + 1 overdue) = 60 %) was 2nd in April (G late,
    K overdue: 0 %) behind inter2 (H: 100 %): now 1st, ↑1; inter2 ↓1."""
    rows = ranking(race.t.high, "intermediate", "2026-05", TODAY)
    assert _counts(rows) == [
        (I1, 5, 4, 3, 1, 0.6, 1, 1, 1.0, 0.45),
        (I2, 3, 1, 1, 2, 0.3333, 2, 1, 0.5, 0.7),
    ]
    assert _rows(rows) == [(I1, 1, 2, 1), (I2, 2, 1, -1)]
    up = rows[0]
    assert up.change > 0 and up.as_dict()["change"] == 1


def test_april_counts_an_item_closed_later_and_one_made_later(db, race):
    """April as of today: G closed late (closed, not on time), K open past its deadline."""
    rows = ranking(race.t.high, "intermediate", "2026-04", TODAY)
    assert _counts(rows) == [
        (I2, 1, 1, 1, 0, 1.0, 0, 0, None, 0.7),
        (I1, 2, 1, 0, 1, 0.0, 0, 0, None, 0.45),
    ]
    # March: nothing was due anywhere — nobody had a place, so no arrows.
    assert [r.previous_rank for r in rows] == [None, None]


def test_courts_with_nothing_to_measure_are_not_ranked(db, race):
    """June, by rate: base1 1/(1+1) = 50 %; base2 (J3 not due yet) and base3 (nothing) have no
    rate: not ranked (rank None), after base1 in tree order. base1 was 2nd in May: ↑1."""
    rows = ranking(race.t.high, "base", "2026-06", TODAY)
    assert _counts(rows) == [
        (B1, 2, 1, 1, 1, 0.5, 0, 0, None, 0.45),
        (B2, 1, 0, 0, 0, None, 0, 0, None, None),
        (B3, 0, 0, 0, 0, None, 0, 0, None, 0.7),
    ]
    assert _rows(rows) == [(B1, 1, 2, 1), (B2, None, None, None), (B3, None, None, None)]


def test_ranking_by_overdue(db, race):
    """June by overdue (fewest first): base2 0, base1 1; base3 has nothing due in June: not
    ranked. In May by overdue: base2 0, base1 1, base3 2 — the same places for both."""
    rows = ranking(race.t.high, "base", "2026-06", TODAY, "overdue")
    assert [(r.unit, r.overdue) for r in rows] == [(B2, 0), (B1, 1), (B3, 0)]
    assert _rows(rows) == [(B2, 1, 1, 0), (B1, 2, 2, 0), (B3, None, None, None)]


def test_ranking_by_rectification_closure(db, race):
    """May by 整改销号率: base1 1/1, base3 1/2, base2 none (not ranked). April had no
    rectifications due: nobody had a place, so no arrows."""
    rows = ranking(race.t.high, "base", "2026-05", TODAY, "rect")
    assert [(r.unit, r.rect_rate) for r in rows] == [(B1, 1.0), (B3, 0.5), (B2, None)]
    assert _rows(rows) == [(B1, 1, None, None), (B3, 2, None, None), (B2, None, None, None)]


def test_ranking_by_checklist_compliance(db, race):
    """By 清单达标率: base3 7/10, base1 (6 + 3)/20 with its tribunal's checklist, base2 none
    (not ranked). Compliance is current, so last month's places are the same: no change."""
    rows = ranking(race.t.high, "base", "2026-05", TODAY, "compliance")
    assert [(r.unit, r.compliance) for r in rows] == [(B3, 0.7), (B1, 0.45), (B2, None)]
    assert _rows(rows) == [(B3, 1, 1, 0), (B1, 2, 2, 0), (B2, None, None, None)]


def test_the_dashboard_tree_gives_the_ranking_the_same_compliance(db, race):
    """The province dashboard passes its tree's compliance to the ranking panel (one
    query fewer): for the province's reviewer it is the published figure."""
    from app.dashboard import queries

    reviewer = factories.user("gy_qjb_r", race.t.high, ["reviewer"])
    node = queries.tree(reviewer, race.t.high, queries.Filters(), TODAY)
    given = {n.unit_id: n.compliance for n in node.walk()}
    for level in ("intermediate", "base"):
        own = ranking(race.t.high, level, "2026-05", TODAY, "compliance")
        assert any(r.compliance for r in own)
        shared = ranking(race.t.high, level, "2026-05", TODAY, "compliance", compliance=given)
        assert [r.as_dict() for r in shared] == [r.as_dict() for r in own]


def test_equal_figures_share_a_place(db, race):
    """Two courts with the same rate and the same overdue count share a place; the next
    court's place counts both (1, 1, 3)."""
    from app.dashboard.rankings import RankRow, assign_places

    rows = [
        RankRow(1, "甲", "", total=2, closed=2, on_time=1),
        RankRow(2, "乙", "", total=2, closed=2, on_time=1),
        RankRow(3, "丙", "", total=2, closed=2, on_time=0),
        RankRow(4, "丁", ""),
    ]
    assert [(r.unit, r.rank) for r in assign_places(rows, "rate")] == [
        ("甲", 1),
        ("乙", 1),
        ("丙", 3),
        ("丁", None),
    ]


def test_an_unknown_metric_ranks_by_rate(db, race):
    assert _rows(ranking(race.t.high, "base", "2026-05", TODAY, "nonsense")) == _rows(
        ranking(race.t.high, "base", "2026-05", TODAY, "rate")
    )


def test_a_courts_own_splits_are_not_counted_twice(db, race):
    """base1 hands C on to both its tribunals: its May figures stay the same."""
    before = _counts(ranking(race.t.high, "base", "2026-05", TODAY))
    task_services.split_assignment(
        race.u.base1_coord, race.C, [race.t.trib1, race.t.trib2], expected_version=race.C.version, now=NOW
    )
    factories.db.session.commit()
    assert _counts(ranking(race.t.high, "base", "2026-05", TODAY)) == before


def test_ranking_takes_three_queries(db, race, count_queries):
    """The courts with the units below each, their compliance, and the tallies of the
    month and the month before; a ranking of this month adds its open items (counted
    live), whatever the number of courts and items."""
    assert race.t.high.id  # loaded before counting
    with count_queries() as statements:
        ranking(race.t.high, "base", "2026-05", TODAY, "compliance")
    assert len(statements) == 3
    with count_queries() as statements:
        ranking(race.t.high, "base", "2026-06", TODAY, "compliance")
    assert len(statements) == 4


# ---------------------------------------------------------------- red list


def test_red_list_longest_overdue_first(db, race):
    """Open and past the deadline on 06-15, for the high court's reviewer: K 51 days, F 34,
    F2 28, C 15, J2 5 (G closed late, J3 not due)."""
    red = red_list(race.u.reviewer, race.t.high, TODAY)
    assert [(r["assignment_id"], r["unit"], r["deadline"], r["days"]) for r in red] == [
        (race.K.id, I1, "2026-04-25", 51),
        (race.F.id, B3, "2026-05-12", 34),
        (race.F2.id, B3, "2026-05-18", 28),
        (race.C.id, B1, "2026-05-31", 15),
        (race.J2.id, B1, "2026-06-10", 5),
    ]
    assert red[1]["title"] == "整改：巡回审判点未挂牌"
    assert [r["assignment_id"] for r in red_list(race.u.reviewer, race.t.high, TODAY, limit=2)] == [
        race.K.id,
        race.F.id,
    ]


def test_red_list_shows_a_split_item_once(db, race):
    """Counted as everywhere else: an item split to tribunals is listed once, at the
    court it was assigned to."""
    task_services.split_assignment(
        race.u.base1_coord, race.C, [race.t.trib1, race.t.trib2], expected_version=race.C.version, now=NOW
    )
    db.session.commit()
    titles = [r["title"] for r in red_list(race.u.reviewer, race.t.high, TODAY)]
    assert titles.count(race.C.task.title) == 1


def test_red_list_shows_only_what_the_user_may_see(db, race):
    """Below the same root, each user sees only the items of their own subtree."""
    assert [r["assignment_id"] for r in red_list(race.u.base1_coord, race.t.high, TODAY)] == [
        race.C.id,
        race.J2.id,
    ]
    assert [r["assignment_id"] for r in red_list(race.u.inter2_assigner, race.t.high, TODAY)] == [
        race.F.id,
        race.F2.id,
    ]
    assert [r["assignment_id"] for r in red_list(race.u.assigner, race.t.inter1, TODAY)] == [
        race.K.id,
        race.C.id,
        race.J2.id,
    ]


# ---------------------------------------------------------------- trends


def _series(t):
    return list(zip(t.months, t.closed, t.overdue, t.on_time_rate, strict=True))


def test_trend_for_the_province(db, race):
    """April–June: closed in the month; overdue at the month's end (April: G only — K was made
    in May; May: G, K, F, F2 — C falls due on the 31st itself; June 15: K, C, F, F2, J2);
    on-time rate of the items due in the month (April H of G, H, K; May A, D, T, E of 8;
    June J1 of J1, J2 — J3 not due yet)."""
    t = trend(race.u.reviewer, race.t.high, TODAY, months=3)
    assert _series(t) == [
        ("2026-04", 1, 1, 0.3333),
        ("2026-05", 5, 4, 0.5),
        ("2026-06", 2, 5, 0.5),
    ]


def test_trend_of_one_court(db, race):
    """base3: H in April; E closed, F and F2 overdue in May; nothing due in June."""
    t = trend(race.u.reviewer, race.t.base3, TODAY, months=3)
    assert _series(t) == [
        ("2026-04", 1, 0, 1.0),
        ("2026-05", 1, 2, 0.3333),
        ("2026-06", 0, 2, None),
    ]


def test_trend_counts_only_what_the_user_may_see(db, race):
    """base1's coordinator asking for the whole province gets base1's figures: G, A, B, C, J1, J2."""
    mine = trend(race.u.base1_coord, race.t.base1, TODAY, months=3)
    assert _series(mine) == [
        ("2026-04", 0, 1, 0.0),
        ("2026-05", 2, 1, 0.3333),
        ("2026-06", 2, 2, 0.5),
    ]
    assert _series(trend(race.u.base1_coord, race.t.high, TODAY, months=3)) == _series(mine)


def test_trend_months_are_bounded(db, race):
    assert trend(race.u.reviewer, race.t.high, TODAY, months=0).months == ["2026-06"]
    long = trend(race.u.reviewer, race.t.high, TODAY, months=100)
    assert len(long.months) == 36 and long.months[0] == "2023-07" and long.months[-1] == "2026-06"
    assert trend(race.u.reviewer, race.t.high, TODAY, months=13).months[0] == "2025-06"


# ---------------------------------------------------------------- pages and export


class _Tables(HTMLParser):
    """Cell texts (and the row's data-unit) of every <table data-testid=…>."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[tuple[str | None, list[str]]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("data-testid"):
            self.current = a["data-testid"]
            self.tables[self.current] = []
        elif self.current and tag == "tr":
            self.tables[self.current].append((a.get("data-unit"), []))
        elif self.current and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.current and tag in ("td", "th") and self.cell is not None:
            self.tables[self.current][-1][1].append(" ".join(p.strip() for p in self.cell if p.strip()))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.current and self.cell is not None:
            self.cell.append(data)


def _tables(html: str) -> dict[str, list[tuple[str | None, list[str]]]]:
    p = _Tables()
    p.feed(html)
    return p.tables


RANK_HEADER = [
    "名次",
    "较上月",
    "单位",
    "上级法院",
    "当月到期事项",
    "已办结",
    "按期办结",
    "逾期",
    "按期完成率",
    "整改事项",
    "已销号",
    "整改销号率",
    "清单达标率",
]


def test_rankings_page_for_a_base_court(db, race, frozen, login):
    """Any logged-in user sees the whole province's ranking; the red list under it holds
    only base1's own items."""
    c = login(race.u.base1_staff)
    resp = c.get("/rankings?level=base&period=2026-05")
    assert resp.status_code == 200
    tables = _tables(resp.get_data(as_text=True))
    body = tables["ranking"][1:]
    t = race.t
    assert [unit for unit, _ in body] == [str(t.base2.id), str(t.base1.id), str(t.base3.id)]
    assert [cells for _, cells in body] == [
        ["1", "—", f"{B2} {I1}", "2", "2", "2", "0", "100.0%", "—", "—"],
        ["2", "＝", f"{B1} {I1}", "3", "2", "1", "1", "33.3%", "100.0%", "45.0%"],
        ["3", "↓2", f"{B3} {I2}", "3", "1", "1", "2", "33.3%", "50.0%", "70.0%"],
    ]
    red = [cells for _, cells in tables["red-list"][1:]]
    assert red == [
        ["1", "五月事项尚未办结", B1, "2026-05-31", "15"],
        ["2", "六月事项已逾期", B1, "2026-06-10", "5"],
    ]


def test_rankings_page_defaults_and_bad_input(db, race, frozen, login):
    """Default: intermediate courts, this month (June: inter1 1/2, inter2 nothing due)."""
    c = login(race.u.base3_coord)
    resp = c.get("/rankings")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "2026年6月到期事项" in html
    assert [cells[2] for _, cells in _tables(html)["ranking"][1:]] == [I1, I2]
    # An unknown level falls back to the intermediate courts; a bad month is a 400.
    assert c.get("/rankings?level=x").status_code == 200
    bad = c.get("/rankings?period=2026-13")
    assert bad.status_code == 400
    assert "无法识别的月份“2026-13”" in bad.get_data(as_text=True)  # the reason, not a generic 400
    assert c.get("/rankings?period=2026-5").status_code == 400  # YYYY-MM exactly
    assert c.get("/rankings/print?period=2026-13").status_code == 400
    assert c.get("/rankings.xlsx?period=garbage").status_code == 400


def test_rankings_need_a_login(db, race, client):
    for url in ("/rankings", "/rankings/print", "/rankings.xlsx", "/trends"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_rankings_print_page(db, race, frozen, login):
    c = login(race.u.base1_staff)
    resp = c.get("/rankings/print?level=base&period=2026-05&by=rect")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "排名依据：整改销号率" in html and "按按" not in html and "2026年5月到期事项" in html
    body = _tables(html)["ranking"][1:]
    assert [(cells[0], cells[1], cells[2].split()[0]) for _, cells in body] == [
        ("1", "—", B1),  # April had no rectifications due: no place to compare with
        ("2", "—", B3),
        ("—", "—", B2),  # none due in May: not ranked
    ]


def test_rankings_xlsx_matches_the_page(db, race, frozen, login):
    c = login(race.u.base1_staff)
    url = "level=base&period=2026-05"
    resp = c.get(f"/rankings.xlsx?{url}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert quote("排名-基层人民法院-2026-05.xlsx") in resp.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["基层法院排名 2026年5月", "逾期红榜"]
    ranked, red = wb.worksheets
    assert ranked["A1"].value == "测试省高级人民法院基层法院排名（2026年5月）　截至2026年6月15日"
    assert red["A1"].value == "测试省高级人民法院逾期事项红榜　截至2026年6月15日"
    rows = list(ranked.iter_rows(min_row=HEADER_ROW, values_only=True))
    assert list(rows[0]) == RANK_HEADER
    # Rates are numbers (0.0%), never text; "—" where there is nothing to measure.
    assert [list(r) for r in rows[1:]] == [
        [1, "—", B2, I1, 2, 2, 2, 0, 1.0, 0, 0, "—", "—"],
        [2, "＝", B1, I1, 3, 2, 1, 1, 0.3333, 1, 1, 1.0, 0.45],
        [3, "↓2", B3, I2, 3, 1, 1, 2, 0.3333, 2, 1, 0.5, 0.7],
    ]
    assert {ranked.cell(FIRST_DATA_ROW, c).number_format for c in (9, 12, 13)} == {"0.0%"}
    page = _tables(c.get(f"/rankings?{url}").get_data(as_text=True))
    assert [[str(r[0]), r[1], r[2]] for r in rows[1:]] == [
        [cells[0], cells[1], cells[2].split()[0]] for _, cells in page["ranking"][1:]
    ]
    assert [list(r) for r in red.iter_rows(min_row=HEADER_ROW, values_only=True)] == [
        ["序号", "事项", "承办单位", "完成时限", "逾期天数"],
        [1, "五月事项尚未办结", B1, "2026-05-31", 15],
        [2, "六月事项已逾期", B1, "2026-06-10", 5],
    ]


def test_rankings_xlsx_by_overdue_for_the_intermediate_courts(db, race, frozen, login):
    c = login(race.u.reviewer)
    resp = c.get("/rankings.xlsx?level=intermediate&period=2026-06&by=overdue")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames[0] == "中级法院排名 2026年6月"
    # June: inter1 J2 overdue — 1st, as in May by overdue (C; inter2 had F, F2); inter2 has
    # nothing due in June: not ranked, no arrow.
    assert [r[:3] for r in wb.worksheets[0].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)] == [
        (1, "＝", I1),
        ("—", "—", I2),
    ]
    # The reviewer at the high court sees every overdue item.
    assert [r[1] for r in wb.worksheets[1].iter_rows(min_row=FIRST_DATA_ROW, values_only=True)] == [
        "补交的四月事项",
        "整改：巡回审判点未挂牌",
        "乙一县五月逾期事项",
        "五月事项尚未办结",
        "六月事项已逾期",
    ]


def test_trends_page(db, race, frozen, login):
    """The trends page renders with the months asked for (bounded to at least 3)."""
    c = login(race.u.assigner)
    resp = c.get(f"/trends?unit={race.t.base1.id}&months=1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "2026年4月" in html and "2026年6月" in html and "2026年3月" not in html
    assert c.get(f"/trends?unit={race.t.inter2.id}").status_code == 404


def test_metrics_and_levels_are_named(db):
    assert set(rankings.METRICS) == {"rate", "overdue", "rect", "compliance"}
    assert set(rankings.LEVELS) == {"intermediate", "base"}
