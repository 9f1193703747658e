"""/api/v1/dashboard and /api/v1/rankings: hand-counted answers, the filters, the
caller's scope and the Chinese 4xx answers."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from app.api.openapi import document
from app.tasks import services as task_services
from tests import factories

SH = ZoneInfo("Asia/Shanghai")


def _utc(y: int, m: int, d: int, hour: int = 10) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the services take."""
    return datetime(y, m, d, hour, tzinfo=SH).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


NOW = _utc(2026, 3, 2)
LATE = _utc(2026, 6, 10)  # made recently: not yet behind the expected pace


def _close(a, on: date) -> None:
    """Test set-up: the assignment was closed (approved) on `on`, local date."""
    a.status, a.closed_on, a.closed_at, a.progress = "closed", on, _utc(on.year, on.month, on.day), 100


@pytest.fixture
def frozen():
    """Today is 2026-06-15 in Shanghai."""
    with time_machine.travel(datetime(2026, 6, 15, 10, 0, tzinfo=SH), tick=False):
        yield


@pytest.fixture
def dash(db, tree, frozen):
    """Known answer on 2026-06-15 ('→' = closed on; lights: red overdue, yellow due within
    7 days or behind pace, green otherwise, grey closed):

    P1 (inter1's project)          a1 base1 05-10 → 05-08       grey, on time
                                   a2 base1 05-20 → 05-25       grey, late
                                   a3 base1 06-01 open          red
                                   a4 trib1 06-20 open          yellow (due in 5 days)
                                   a5 base2 12-31 open (06-10)  green
                                   a6 base2 06-10 open          red
    P2 (the high court's project)  b1 base1 07-31 open          yellow (105 of 151 days gone, 0 %)
                                   b2 base2 04-30 → 04-30       grey, on time
                                   b3 base3 05-01 open          red (inter2's subtree)
                                   b4 inter1 05-15 open         red
    rectification by inter1        r1 base1 07-15 open (06-10)  green
    checklist at base1: A-1 verified → 2/10.
    """
    t = tree
    u = factories.task_users(t)
    d = SimpleNamespace(t=t, u=u)
    d.p1 = factories.project(u.assigner, name="甲市法庭建设", now=NOW)
    d.p2 = factories.project(u.high_assigner, name="全省强基工程", now=NOW)
    d.p3 = factories.project(u.inter2_assigner, name="乙市专项", now=NOW)

    def item(actor, project, unit, deadline, title, closed_on=None, now=NOW):
        task = factories.task(actor, project, title=title, deadline=deadline, now=now)
        (a,) = factories.assign(actor, task, unit, now=now)
        if closed_on:
            _close(a, closed_on)
        return a

    d.a1 = item(u.assigner, d.p1, t.base1, date(2026, 5, 10), "甲一区按期办结", date(2026, 5, 8))
    d.a2 = item(u.assigner, d.p1, t.base1, date(2026, 5, 20), "甲一区逾期办结", date(2026, 5, 25))
    d.a3 = item(u.assigner, d.p1, t.base1, date(2026, 6, 1), "甲一区逾期未办")
    d.a4 = item(u.assigner, d.p1, t.trib1, date(2026, 6, 20), "东山法庭临期")
    d.a5 = item(u.assigner, d.p1, t.base2, date(2026, 12, 31), "甲二区年底事项", now=LATE)
    d.a6 = item(u.assigner, d.p1, t.base2, date(2026, 6, 10), "甲二区逾期未办")
    d.b1 = item(u.high_assigner, d.p2, t.base1, date(2026, 7, 31), "全省七月事项")
    d.b2 = item(u.high_assigner, d.p2, t.base2, date(2026, 4, 30), "全省四月事项", date(2026, 4, 30))
    d.b3 = item(u.high_assigner, d.p2, t.base3, date(2026, 5, 1), "乙一县逾期未办")
    d.b4 = item(u.high_assigner, d.p2, t.inter1, date(2026, 5, 15), "甲市中院本级逾期")
    d.r1 = task_services.create_rectification(
        u.assigner,
        organizer_unit=t.inter1,
        verifier=u.assigner,
        unit=t.base1,
        description="法庭标识不规范",
        deadline=date(2026, 7, 15),
        now=LATE,
    )
    tpl = factories.checklist_template(u.reviewer, now=NOW)
    (cl,) = factories.apply_checklist(u.reviewer, tpl, t.base1, now=NOW)
    factories.set_entry(cl, "A-1", "verified", by=u.reviewer)
    factories.db.session.commit()
    return d


def _token(client, user) -> dict[str, str]:
    resp = client.post("/api/v1/auth/token", json={"username": user.username, "password": factories.PASSWORD})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


FIGURES = ("total", "closed", "on_time", "overdue", "on_time_rate", "red", "yellow", "green")


def _figures(row: dict) -> tuple:
    return tuple(row[k] for k in FIGURES)


def _children(body: dict) -> list[tuple]:
    return [(c["name"], *_figures(c)) for c in body["children"]]


# ---------------------------------------------------------------- /api/v1/dashboard


def test_dashboard_totals_and_children(client, dash):
    """inter1: 10 items (a1–a6, b1, b2, b4, r1), closed 3 (2 on time), overdue 3 →
    2 ÷ (3 + 3); base1 6 items, 1 ÷ (2 + 1); base2 3 items, 1 ÷ (1 + 1)."""
    h = _token(client, dash.u.assigner)
    resp = client.get(f"/api/v1/dashboard?unit={dash.t.inter1.id}", headers=h)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["unit_id"], body["name"], body["as_of"]) == (
        dash.t.inter1.id,
        "甲市中级人民法院",
        "2026-06-15",
    )
    assert body["totals"] == {
        "total": 10,
        "closed": 3,
        "on_time": 2,
        "overdue": 3,
        "on_time_rate": 0.3333,
        "red": 3,
        "yellow": 2,
        "green": 2,
        "grey": 3,
        "rectifications": 1,
        "rectifications_open": 1,
        "rectification_closure_rate": 0.0,
        "checklists": 1,
        "checklist_compliance": 0.2,
        "visits": 0,
    }
    assert body["children"] == [
        {
            "unit_id": dash.t.base1.id,
            "name": "甲一区人民法院",
            "level": "base",
            "total": 6,
            "closed": 2,
            "on_time": 1,
            "overdue": 1,
            "on_time_rate": 0.3333,
            "red": 1,
            "yellow": 2,
            "green": 1,
            "rectifications_open": 1,
            "checklist_compliance": 0.2,
            "visits": 0,
        },
        {
            "unit_id": dash.t.base2.id,
            "name": "甲二区人民法院",
            "level": "base",
            "total": 3,
            "closed": 1,
            "on_time": 1,
            "overdue": 1,
            "on_time_rate": 0.5,
            "red": 1,
            "yellow": 0,
            "green": 1,
            "rectifications_open": 0,
            "checklist_compliance": None,
            "visits": 0,
        },
    ]
    assert body["filters"] == {
        "project": None,
        "category": None,
        "from": None,
        "to": None,
        "visits_from": "2026-01-01",
        "visits_to": "2026-06-15",
    }


def test_dashboard_defaults_to_the_callers_unit_and_accepts_a_session(login, dash):
    """No unit: the caller's own (base1, with trib1 and trib2 below); a browser session works too."""
    c = login(dash.u.base1_coord)
    body = c.get("/api/v1/dashboard").get_json()
    assert body["unit_id"] == dash.t.base1.id
    assert _figures(body["totals"]) == (6, 2, 1, 1, 0.3333, 1, 2, 1)
    assert _children(body) == [
        ("东山人民法庭", 1, 0, 0, 0, None, 0, 1, 0),
        ("西山人民法庭", 0, 0, 0, 0, None, 0, 0, 0),
    ]


def test_dashboard_from_the_high_court(client, dash):
    """The province: inter1 as above, inter2 with b3 only."""
    body = client.get("/api/v1/dashboard", headers=_token(client, dash.u.reviewer)).get_json()
    assert _figures(body["totals"]) == (11, 3, 2, 4, 0.2857, 4, 2, 2)
    assert _children(body) == [
        ("甲市中级人民法院", 10, 3, 2, 3, 0.3333, 3, 2, 2),
        ("乙市中级人民法院", 1, 0, 0, 1, 0.0, 1, 0, 0),
    ]


def test_dashboard_project_filter(client, dash):
    """P1 only: a1–a6 → 1 on time ÷ (2 closed + 2 overdue); the rectification has no project."""
    h = _token(client, dash.u.assigner)
    body = client.get(f"/api/v1/dashboard?unit={dash.t.inter1.id}&project={dash.p1.id}", headers=h).get_json()
    assert _figures(body["totals"]) == (6, 2, 1, 2, 0.25, 2, 1, 1)
    assert (body["totals"]["grey"], body["totals"]["rectifications"]) == (2, 0)
    assert body["filters"]["project"] == dash.p1.id
    assert _children(body) == [
        ("甲一区人民法院", 4, 2, 1, 1, 0.3333, 1, 1, 0),
        ("甲二区人民法院", 2, 0, 0, 1, 0.0, 1, 0, 1),
    ]
    # The high court's project is visible below it: b1, b2, b4.
    body = client.get(f"/api/v1/dashboard?project={dash.p2.id}", headers=h).get_json()
    assert _figures(body["totals"]) == (3, 1, 1, 1, 0.5, 1, 1, 0)


def test_dashboard_project_of_another_court_is_404(client, dash):
    h = _token(client, dash.u.assigner)
    resp = client.get(f"/api/v1/dashboard?project={dash.p3.id}", headers=h)
    assert resp.status_code == 404 and resp.get_json()["error"]
    assert client.get("/api/v1/dashboard?project=99999", headers=h).status_code == 404


def test_dashboard_deadline_filter(client, dash):
    """May: a1, a2 (base1) and b4 (inter1's own) → 1 ÷ (2 + 1); base2 nothing due."""
    h = _token(client, dash.u.assigner)
    body = client.get(
        f"/api/v1/dashboard?unit={dash.t.inter1.id}&from=2026-05-01&to=2026-05-31", headers=h
    ).get_json()
    assert _figures(body["totals"]) == (3, 2, 1, 1, 0.3333, 1, 0, 0)
    assert (body["filters"]["from"], body["filters"]["to"]) == ("2026-05-01", "2026-05-31")
    assert (body["filters"]["visits_from"], body["filters"]["visits_to"]) == ("2026-05-01", "2026-05-31")
    assert _children(body) == [
        ("甲一区人民法院", 2, 2, 1, 0, 0.5, 0, 0, 0),
        ("甲二区人民法院", 0, 0, 0, 0, None, 0, 0, 0),
    ]
    # Open-ended: from June on (a3, a4, a5, a6, b1, r1); up to April (b2).
    assert client.get("/api/v1/dashboard?from=2026-06-01", headers=h).get_json()["totals"]["total"] == 6
    assert _figures(client.get("/api/v1/dashboard?to=2026-04-30", headers=h).get_json()["totals"]) == (
        1,
        1,
        1,
        0,
        1.0,
        0,
        0,
        0,
    )
    # One day is a valid period.
    assert (
        client.get("/api/v1/dashboard?from=2026-06-10&to=2026-06-10", headers=h).get_json()["totals"]["total"]
        == 1
    )


def test_a_courts_own_splits_are_not_counted_twice(client, dash):
    """base1 hands a3 on to both tribunals: the totals do not change."""
    h = _token(client, dash.u.assigner)
    before = client.get(f"/api/v1/dashboard?unit={dash.t.inter1.id}", headers=h).get_json()
    task_services.split_assignment(
        dash.u.base1_coord, dash.a3, [dash.t.trib1, dash.t.trib2], expected_version=dash.a3.version, now=LATE
    )
    factories.db.session.commit()
    after = client.get(f"/api/v1/dashboard?unit={dash.t.inter1.id}", headers=h).get_json()
    assert after["totals"] == before["totals"] and after["children"] == before["children"]


def test_dashboard_outside_the_callers_subtree_is_404(client, dash):
    inter1 = _token(client, dash.u.assigner)
    base1 = _token(client, dash.u.base1_coord)
    for h, unit in (
        (inter1, dash.t.inter2),
        (inter1, dash.t.base3),
        (inter1, dash.t.high),
        (base1, dash.t.base2),
    ):
        resp = client.get(f"/api/v1/dashboard?unit={unit.id}", headers=h)
        assert resp.status_code == 404, unit.name
        assert resp.get_json() == {"error": "页面不存在，或者您无权查看该内容。"}
    assert client.get("/api/v1/dashboard?unit=99999", headers=inter1).status_code == 404


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=2026-02-30", "参数 from 须为 YYYY-MM-DD 格式的日期。"),
        ("from=abc", "参数 from 须为 YYYY-MM-DD 格式的日期。"),
        ("to=2026/06/01", "参数 to 须为 YYYY-MM-DD 格式的日期。"),
        ("from=2026-06-02&to=2026-06-01", "参数 from 不能晚于 to。"),
        ("unit=abc", "参数 unit 须为整数。"),
        ("project=-1", "参数 project 须为整数。"),
    ],
)
def test_dashboard_bad_input_is_400(client, dash, query, message):
    resp = client.get(f"/api/v1/dashboard?{query}", headers=_token(client, dash.u.assigner))
    assert resp.status_code == 400
    assert resp.get_json() == {"error": message}


def test_dashboard_and_rankings_need_a_caller(client, dash):
    for url in ("/api/v1/dashboard", f"/api/v1/dashboard?unit={dash.t.base1.id}", "/api/v1/rankings"):
        resp = client.get(url)
        assert resp.status_code == 401
        assert "Bearer" in resp.get_json()["error"]
    resp = client.get("/api/v1/dashboard", headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 401


# ---------------------------------------------------------------- /api/v1/rankings


def test_rankings_base_courts_for_may(client, dash):
    """May: base1 a1, a2 → 1 ÷ 2; base3 b3 overdue → 0 %; base2 nothing due (not ranked). In April
    only base2 had anything due (b2): nobody had something due in both months, so no arrows."""
    h = _token(client, dash.u.assigner)
    resp = client.get("/api/v1/rankings?level=base&period=2026-05", headers=h)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["level"], body["period"], body["by"], body["as_of"], body["unit_id"]) == (
        "base",
        "2026-05",
        "rate",
        "2026-06-15",
        dash.t.high.id,
    )
    t = dash.t
    assert body["rankings"] == [
        {
            "rank": 1,
            "unit_id": t.base1.id,
            "unit": "甲一区人民法院",
            "total": 2,
            "closed": 2,
            "on_time": 1,
            "overdue": 0,
            "on_time_rate": 0.5,
            "rectifications": 0,
            "rectifications_closed": 0,
            "rectification_closure_rate": None,
            "checklist_compliance": 0.2,
            "previous_rank": None,
            "change": None,
        },
        {
            "rank": 2,
            "unit_id": t.base3.id,
            "unit": "乙一县人民法院",
            "total": 1,
            "closed": 0,
            "on_time": 0,
            "overdue": 1,
            "on_time_rate": 0.0,
            "rectifications": 0,
            "rectifications_closed": 0,
            "rectification_closure_rate": None,
            "checklist_compliance": None,
            "previous_rank": None,
            "change": None,
        },
        {
            "rank": None,
            "unit_id": t.base2.id,
            "unit": "甲二区人民法院",
            "total": 0,
            "closed": 0,
            "on_time": 0,
            "overdue": 0,
            "on_time_rate": None,
            "rectifications": 0,
            "rectifications_closed": 0,
            "rectification_closure_rate": None,
            "checklist_compliance": None,
            "previous_rank": None,
            "change": None,
        },
    ]
    # inter1's assigner sees b4 (its own court), a3 and a6 — not base3's b3.
    assert [(r["assignment_id"], r["unit"], r["deadline"], r["days"]) for r in body["red_list"]] == [
        (dash.b4.id, "甲市中级人民法院", "2026-05-15", 31),
        (dash.a3.id, "甲一区人民法院", "2026-06-01", 14),
        (dash.a6.id, "甲二区人民法院", "2026-06-10", 5),
    ]
    assert body["red_list"][0]["title"] == "甲市中院本级逾期"


def test_rankings_by_overdue_and_for_another_caller(client, dash):
    """By overdue: base1 none, base3 one; base2 had nothing due (not ranked). inter2's assigner
    gets the same ranking (it is the province's) but only b3 in the red list."""
    h = _token(client, dash.u.inter2_assigner)
    body = client.get("/api/v1/rankings?level=base&period=2026-05&by=overdue", headers=h).get_json()
    assert body["by"] == "overdue"
    assert [(r["unit"], r["rank"], r["overdue"]) for r in body["rankings"]] == [
        ("甲一区人民法院", 1, 0),
        ("乙一县人民法院", 2, 1),
        ("甲二区人民法院", None, 0),
    ]
    assert [r["assignment_id"] for r in body["red_list"]] == [dash.b3.id]


def test_rankings_defaults_to_intermediate_courts_this_month(client, dash):
    """June: inter1 a3, a4 (not due), a6 → 0 ÷ 2 overdue; inter2 nothing (so no arrow). In May
    inter1 (a1, a2, b4: 1 ÷ 3) was 1st."""
    body = client.get("/api/v1/rankings", headers=_token(client, dash.u.base1_coord)).get_json()
    assert (body["level"], body["period"], body["by"]) == ("intermediate", "2026-06", "rate")
    assert [
        (r["unit"], r["rank"], r["total"], r["overdue"], r["on_time_rate"], r["previous_rank"], r["change"])
        for r in body["rankings"]
    ] == [
        ("甲市中级人民法院", 1, 3, 2, 0.0, 1, 0),
        ("乙市中级人民法院", None, 0, 0, None, None, None),
    ]
    # The coordinator of base1 sees only base1's overdue item.
    assert [r["assignment_id"] for r in body["red_list"]] == [dash.a3.id]


def test_rankings_previous_month_arrows(client, dash):
    """Intermediate courts in May: inter1 1/3, inter2 0 %; April: only inter1 had b2 due."""
    h = _token(client, dash.u.reviewer)
    body = client.get("/api/v1/rankings?level=intermediate&period=2026-05", headers=h).get_json()
    assert [
        (r["unit"], r["rank"], r["on_time_rate"], r["previous_rank"], r["change"]) for r in body["rankings"]
    ] == [
        ("甲市中级人民法院", 1, 0.3333, 1, 0),
        ("乙市中级人民法院", 2, 0.0, None, None),
    ]


@pytest.mark.parametrize(
    "query, message",
    [
        ("period=2026-13", "无法识别的月份“2026-13”，请按“年-月”填写，例如 2026-10。"),
        ("period=2026", "无法识别的月份“2026”，请按“年-月”填写，例如 2026-10。"),
        ("level=x", "参数 level 只能是 intermediate 或 base。"),
        ("level=tribunal", "参数 level 只能是 intermediate 或 base。"),
        ("by=x", "参数 by 只能是 rate、overdue、rect 或 compliance。"),
    ],
)
def test_rankings_bad_input_is_400(client, dash, query, message):
    resp = client.get(f"/api/v1/rankings?{query}", headers=_token(client, dash.u.assigner))
    assert resp.status_code == 400
    assert resp.get_json() == {"error": message}


# ---------------------------------------------------------------- the documented shapes


def _properties(schema: dict, doc: dict) -> set[str]:
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema["properties"])


def test_answers_match_the_openapi_document(client, dash):
    """Every field the document names is in the answers, and nothing undocumented."""
    doc = document()
    h = _token(client, dash.u.assigner)

    def schema_of(path):
        return doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]

    body = client.get(f"/api/v1/dashboard?unit={dash.t.inter1.id}", headers=h).get_json()
    dashboard = schema_of("/dashboard")
    assert set(body) == set(dashboard["properties"])
    assert set(body["totals"]) == _properties(dashboard["properties"]["totals"], doc)
    assert set(body["children"][0]) == _properties(dashboard["properties"]["children"]["items"], doc)

    body = client.get("/api/v1/rankings?level=base&period=2026-05", headers=h).get_json()
    ranked = schema_of("/rankings")
    assert set(body) == set(ranked["properties"])
    assert set(body["rankings"][0]) == _properties(ranked["properties"]["rankings"]["items"], doc)
    assert set(body["red_list"][0]) == _properties(ranked["properties"]["red_list"]["items"], doc)
