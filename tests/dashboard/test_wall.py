"""The lobby wall (上墙): display tokens made and revoked by admins (only the hash kept,
the address shown once, journaled), and the wall itself — no login, only its unit's
subtree, revoked → 410, unknown → 404, rotation and refresh bounded."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.dashboard import services as display_services
from app.dashboard.models import DisplayToken
from app.errors import ANY_VERSION
from app.journal import JournalEntry
from app.org import services as org_services
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
FROZEN = datetime(2026, 6, 15, 10, 0, tzinfo=SH)


def _utc(y: int, m: int, d: int, hour: int = 10) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the services take."""
    return datetime(y, m, d, hour, tzinfo=SH).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


NOW = _utc(2026, 3, 2)


@pytest.fixture
def frozen():
    """Today is 2026-06-15 in Shanghai."""
    with time_machine.travel(FROZEN, tick=False):
        yield


@pytest.fixture
def world(db, tree, frozen):
    """On 2026-06-15 ('→' = closed on):

    w1 base1 05-10 → 05-08     w2 trib1 06-01 open (14 days late)   w3 base1 06-05 open (10 days)
    w4 base2 05-20 open        w5 base3 05-01 open
    base1's wall: 3 items, 1 closed, 2 overdue → 1 ÷ (1 + 2) = 33.3 %.
    """
    t = tree
    u = SimpleNamespace(
        high_admin=factories.user("gy_admin", t.high, ["admin"]),
        inter1_admin=factories.user("jz_admin", t.inter1, ["admin"]),
        base1_admin=factories.user("j1_admin", t.base1, ["admin"]),
        base1_staff=factories.user("j1_gj", t.base1, ["staff"]),
        high_assigner=factories.user("gy_zb", t.high, ["assigner"]),
    )
    factories.receivers(t.trib1, t.base2, t.base3)
    p = factories.project(u.high_assigner, name="全省强基工程", now=NOW)
    w = SimpleNamespace(t=t, u=u)

    def item(unit, deadline, title, closed_on=None):
        task = factories.task(u.high_assigner, p, title=title, deadline=deadline, now=NOW)
        (a,) = factories.assign(u.high_assigner, task, unit, now=NOW)
        if closed_on:
            a.status, a.closed_on, a.closed_at, a.progress = "closed", closed_on, NOW, 100
        return a

    w.w1 = item(t.base1, date(2026, 5, 10), "甲一区按期办结事项", date(2026, 5, 8))
    w.w2 = item(t.trib1, date(2026, 6, 1), "东山法庭逾期事项")
    w.w3 = item(t.base1, date(2026, 6, 5), "甲一区逾期事项")
    w.w4 = item(t.base2, date(2026, 5, 20), "甲二区逾期事项")
    w.w5 = item(t.base3, date(2026, 5, 1), "乙一县逾期事项")
    factories.db.session.commit()
    return w


def _display(w, unit, label="诉讼服务大厅电视", actor=None):
    """A token made through the service (as the high court's admin unless told)."""
    token, raw = display_services.create_display(actor or w.u.high_admin, unit, label=label, now=NOW)
    factories.db.session.commit()
    return token, raw


def _figure(html: str, label: str) -> str:
    m = re.search(rf'<div class="label">{label}</div><div class="value"[^>]*>([^<]*)</div>', html)
    assert m, label
    return m.group(1)


def _panel(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def _rows(section: str) -> list[list[str]]:
    """Cell texts of the body rows of the one table in a panel."""
    body = section.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def _count(model) -> int:
    return factories.db.session.scalar(select(func.count()).select_from(model))


def _journal(action: str) -> list[JournalEntry]:
    return list(factories.db.session.scalars(select(JournalEntry).where(JournalEntry.action == action)))


# ---------------------------------------------------------------- making and revoking tokens


def test_admin_makes_a_display_and_sees_the_address_once(db, world, login, app):
    c = login(world.u.inter1_admin)
    resp = c.post("/admin/displays", data={"unit_id": str(world.t.base1.id), "label": "  甲一区大厅电视 "})
    assert resp.status_code == 201
    html = resp.get_data(as_text=True)
    m = re.search(r'value="([^"]+)"[^>]*data-testid="new-display-url"', html)
    assert m, html
    url = m.group(1)
    assert re.fullmatch(r"http://localhost/wall/[A-Za-z0-9_-]{20,}", url)
    raw = url.rsplit("/", 1)[1]

    token = db.session.scalars(select(DisplayToken)).one()
    assert (token.unit_id, token.label, token.created_by_id) == (
        world.t.base1.id,
        "甲一区大厅电视",
        world.u.inter1_admin.id,
    )
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.active and token.revoked_at is None
    # Only the hash is stored: the raw token is nowhere in the row or in the journal.
    assert raw not in repr([getattr(token, col.key) for col in DisplayToken.__table__.columns])
    (entry,) = _journal("display.create")
    assert (entry.object_type, entry.object_id, entry.unit_id, entry.actor_id) == (
        "DisplayToken",
        token.id,
        world.t.base1.id,
        world.u.inter1_admin.id,
    )
    assert entry.before is None
    assert entry.after == {
        "unit_id": world.t.base1.id,
        "label": "甲一区大厅电视",
        "revoked_at": None,
        "revoked_by_id": None,
    }
    assert raw not in repr(entry.after) and token.token_hash not in repr(entry.after)

    # The list shows the display, never the address again.
    listing = c.get("/admin/displays")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "甲一区大厅电视" in page and "使用中" in page
    assert raw not in page and "new-display-url" not in page

    # The address works without a login.
    assert app.test_client().get(f"/wall/{raw}").status_code == 200


def test_label_is_required(db, world, login):
    c = login(world.u.base1_admin)
    for label in ("", "   "):
        resp = c.post("/admin/displays", data={"unit_id": str(world.t.base1.id), "label": label})
        assert resp.status_code == 400
        assert "请填写显示屏名称。" in resp.get_data(as_text=True)
    resp = c.post("/admin/displays", data={"unit_id": str(world.t.base1.id), "label": "长" * 101})
    assert resp.status_code == 400 and "显示屏名称不能超过 100 个字。" in resp.get_data(as_text=True)
    resp = c.post("/admin/displays", data={"label": "大厅电视"})
    assert resp.status_code == 400 and "请选择显示屏所属单位。" in resp.get_data(as_text=True)
    assert _count(DisplayToken) == 0 and _journal("display.create") == []


def test_admin_cannot_make_a_display_outside_their_subtree(db, world, login):
    """base1's admin: not inter1 (above), not base2 (sibling) — 404 — but its own court and tribunals."""
    c = login(world.u.base1_admin)
    for unit in (world.t.inter1, world.t.base2, world.t.high):
        resp = c.post("/admin/displays", data={"unit_id": str(unit.id), "label": "越权"})
        assert resp.status_code == 404, unit.name
    assert c.post("/admin/displays", data={"unit_id": "99999", "label": "x"}).status_code == 404
    assert _count(DisplayToken) == 0
    for unit in (world.t.base1, world.t.trib1):
        assert c.post("/admin/displays", data={"unit_id": str(unit.id), "label": "大厅"}).status_code == 201
    assert sorted(db.session.scalars(select(DisplayToken.unit_id))) == sorted(
        [world.t.base1.id, world.t.trib1.id]
    )


def test_non_admins_get_403(db, world, login):
    token, _ = _display(world, world.t.base1)
    c = login(world.u.base1_staff)
    assert c.get("/admin/displays").status_code == 403
    assert c.post("/admin/displays", data={"unit_id": str(world.t.base1.id), "label": "x"}).status_code == 403
    resp = c.post(f"/admin/displays/{token.id}/revoke", data={"version": str(token.version)})
    assert resp.status_code == 403
    assert _count(DisplayToken) == 1
    db.session.refresh(token)
    assert token.active


def test_anonymous_admin_page_redirects_to_login(db, world, client):
    resp = client.get("/admin/displays")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_list_shows_only_the_admins_subtree(db, world, login):
    _display(world, world.t.base1, label="甲一区大厅")
    _display(world, world.t.inter1, label="甲市中院大厅")
    _display(world, world.t.base3, label="乙一县大厅")
    page = login(world.u.base1_admin).get("/admin/displays").get_data(as_text=True)
    assert "甲一区大厅" in page and "甲市中院大厅" not in page and "乙一县大厅" not in page


def test_revoke(db, world, login, app):
    token, raw = _display(world, world.t.base1)
    wall = app.test_client()
    assert wall.get(f"/wall/{raw}").status_code == 200
    c = login(world.u.inter1_admin)
    resp = c.post(f"/admin/displays/{token.id}/revoke", data={"version": str(token.version)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/displays")
    db.session.refresh(token)
    assert token.revoked_at is not None and token.revoked_by_id == world.u.inter1_admin.id
    (entry,) = _journal("display.revoke")
    assert (entry.object_id, entry.unit_id, entry.actor_id) == (
        token.id,
        world.t.base1.id,
        world.u.inter1_admin.id,
    )
    assert entry.before["revoked_at"] is None and entry.after["revoked_at"] is not None
    assert entry.after["revoked_by_id"] == world.u.inter1_admin.id

    resp = wall.get(f"/wall/{raw}")
    assert resp.status_code == 410
    html = resp.get_data(as_text=True)
    assert "该显示屏已被系统管理员停用。" in html and "甲一区逾期事项" not in html
    assert "已停用" in c.get("/admin/displays").get_data(as_text=True)

    # Revoking again is a no-op: still one journal entry.
    db.session.refresh(token)
    assert (
        c.post(f"/admin/displays/{token.id}/revoke", data={"version": str(token.version)}).status_code == 303
    )
    assert len(_journal("display.revoke")) == 1


def test_revoke_with_a_stale_version_changes_nothing(db, world, login, app):
    token, raw = _display(world, world.t.base1)
    c = login(world.u.base1_admin)
    resp = c.post(f"/admin/displays/{token.id}/revoke", data={"version": str(token.version + 1)})
    # Changed on purpose (issue #10): a stale save answers the conflict page (409), not a redirect.
    assert resp.status_code == 409
    assert "该记录已被他人修改" in resp.get_data(as_text=True)
    db.session.refresh(token)
    assert token.active and _journal("display.revoke") == []
    assert app.test_client().get(f"/wall/{raw}").status_code == 200


def test_admin_cannot_revoke_a_display_above_them(db, world, login, app):
    token, raw = _display(world, world.t.inter1)
    c = login(world.u.base1_admin)
    resp = c.post(f"/admin/displays/{token.id}/revoke", data={"version": str(token.version)})
    assert resp.status_code == 404
    assert c.post("/admin/displays/99999/revoke", data={"version": "1"}).status_code == 404
    db.session.refresh(token)
    assert token.active and _journal("display.revoke") == []
    assert app.test_client().get(f"/wall/{raw}").status_code == 200


# ---------------------------------------------------------------- the wall


def test_wall_shows_the_units_figures(db, world, client):
    """base1's wall, no login: 3 items, 1 closed, 33.3 %, 2 overdue (both red); its tribunals;
    the red list w2 then w3; the race of inter1's base courts with base1 starred."""
    _, raw = _display(world, world.t.base1)
    resp = client.get(f"/wall/{raw}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "<title>甲一区人民法院 · 工作上墙</title>" in html
    assert [_figure(html, k) for k in ("事项总数", "已办结", "逾期", "整改未销号", "清单达标率")] == [
        "3",
        "1",
        "2",
        "0",
        "—",
    ]
    assert re.search(r'data-testid="wall-rate">33\.3%<', html)
    assert "● 红灯 2" in html and "▲ 黄灯 0" in html and "■ 绿灯 0" in html
    figures = _panel(html, "panel-figures")
    # Children by rate, then fewer overdue: trib2 (none due) before trib1 (0 %, 1 overdue).
    assert _rows(figures) == [["西山人民法庭", "0", "—", "0"], ["东山人民法庭", "1", "0.0%", "1"]]
    assert _rows(_panel(html, "panel-red")) == [
        ["东山法庭逾期事项", "东山人民法庭", "14 天"],
        ["甲一区逾期事项", "甲一区人民法院", "10 天"],
    ]
    # June: base1 w2, w3 both overdue (0 %), 1st as in May (w1 100 %); base2 nothing due: no arrow.
    assert _rows(_panel(html, "panel-ranking")) == [
        ["1", "＝", "甲一区人民法院 ★", "0.0%", "2"],
        ["—", "—", "甲二区人民法院", "—", "0"],
    ]
    assert 'class="mine"' in _panel(html, "panel-ranking")
    assert 'data-testid="wall-counts"' in html and 'data-testid="wall-rate"' in html


def test_wall_shows_only_its_subtree(db, world, client):
    """base1's wall: nothing of base2 (sibling) or base3; inter1's wall: base2's but not base3's."""
    _, b1 = _display(world, world.t.base1)
    html = client.get(f"/wall/{b1}").get_data(as_text=True)
    for title in ("甲二区逾期事项", "乙一县逾期事项"):
        assert title not in html
    assert "乙一县人民法院" not in html  # base3 is in another intermediate court's race

    _, i1 = _display(world, world.t.inter1)
    html = client.get(f"/wall/{i1}").get_data(as_text=True)
    assert [_figure(html, k) for k in ("事项总数", "已办结", "逾期")] == ["4", "1", "3"]
    assert re.search(r'data-testid="wall-rate">25\.0%<', html)
    assert [r[0] for r in _rows(_panel(html, "panel-red"))] == [
        "甲二区逾期事项",
        "东山法庭逾期事项",
        "甲一区逾期事项",
    ]
    assert "乙一县逾期事项" not in html

    _, high = _display(world, world.t.high)
    html = client.get(f"/wall/{high}").get_data(as_text=True)
    assert [r[0] for r in _rows(_panel(html, "panel-red"))][0] == "乙一县逾期事项"


def test_wall_of_a_tribunal(db, world, client):
    """trib1's wall: its one overdue item; the race of inter1's base courts with base1 starred."""
    _, raw = _display(world, world.t.trib1)
    html = client.get(f"/wall/{raw}").get_data(as_text=True)
    assert [_figure(html, k) for k in ("事项总数", "逾期")] == ["1", "1"]
    assert [r[0] for r in _rows(_panel(html, "panel-red"))] == ["东山法庭逾期事项"]
    assert "甲一区逾期事项" not in html
    assert [r[2] for r in _rows(_panel(html, "panel-ranking"))] == ["甲一区人民法院 ★", "甲二区人民法院"]


def test_unknown_token_is_404(db, world, client):
    _display(world, world.t.base1)
    for raw in ("not-a-token", "x" * 101):
        resp = client.get(f"/wall/{raw}")
        assert resp.status_code == 404
        assert "显示屏地址无效" in resp.get_data(as_text=True)


def test_wall_of_a_deactivated_unit_is_410(db, world, client):
    _, raw = _display(world, world.t.trib2)
    org_services.set_unit_active(
        world.u.high_admin, world.t.trib2, False, expected_version=ANY_VERSION, now=NOW
    )
    db.session.commit()
    resp = client.get(f"/wall/{raw}")
    assert resp.status_code == 410


@pytest.mark.parametrize(
    "query, rotate, refresh",
    [
        ("", "20", "300"),
        ("?rotate=1", "5", "300"),
        ("?refresh=999999", "20", "3600"),
        ("?rotate=1&refresh=999999", "5", "3600"),
        ("?rotate=9999&refresh=1", "300", "10"),
        ("?rotate=abc&refresh=", "20", "300"),
        ("?rotate=45&refresh=60", "45", "60"),
        ("?rotate=0&refresh=0", "5", "10"),
    ],
)
def test_rotation_and_refresh_are_bounded(db, world, client, query, rotate, refresh):
    _, raw = _display(world, world.t.base1)
    html = client.get(f"/wall/{raw}{query}").get_data(as_text=True)
    assert f'<body data-rotate="{rotate}" data-refresh="{refresh}">' in html


def test_wall_notes_when_the_screen_was_last_seen(db, world, client):
    """Written on the first visit, then at most every ten minutes (and never journaled)."""
    token, raw = _display(world, world.t.base1)
    journal = _count(JournalEntry)
    client.get(f"/wall/{raw}")
    db.session.refresh(token)
    first = token.last_seen_at
    assert first == _utc(2026, 6, 15)
    with time_machine.travel(FROZEN + timedelta(minutes=5), tick=False):
        client.get(f"/wall/{raw}")
    db.session.refresh(token)
    assert token.last_seen_at == first
    with time_machine.travel(FROZEN + timedelta(minutes=11), tick=False):
        client.get(f"/wall/{raw}")
    db.session.refresh(token)
    assert token.last_seen_at == first + timedelta(minutes=11)
    assert _count(JournalEntry) == journal
