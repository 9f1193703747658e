"""The notification centre, e-mail preferences and unit muting, the notifications API,
and the traffic light (红黄绿灯) on assignment pages."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import delete, select

from app.deadlines import traffic_light
from app.journal import JournalEntry
from app.notifications import Notification
from app.org.models import Unit, User
from tests import factories

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 2, 0)  # 2026-03-02 10:00 in Shanghai


def _note(db, user, subject_type="Assignment", subject_id=1, *, message="事项临期提醒", read=False, n=0):
    """A notification row for `user`, created directly."""
    row = Notification(
        recipient_id=user.id,
        kind="remind",
        subject_type=subject_type,
        subject_id=subject_id,
        message=message,
        dedupe_key=f"test:{subject_type}:{subject_id}:{n}:{message}",
        created_at=datetime(2026, 3, 1, 1, n % 60),
        read_at=NOW if read else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def w(db, tree):
    """inter1's assigner has one item (due 2026-06-30, assigned 2026-03-02) assigned to base1."""
    u = factories.task_users(tree)
    u.admin = factories.user("jz_admin", tree.inter1, ["admin"], display_name="甲市中院管理员")
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 6, 30), now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    db.session.execute(delete(Notification))  # start each test from an empty centre
    db.session.commit()
    return SimpleNamespace(t=tree, u=u, task=t, a=a)


@pytest.fixture
def as_user(app):
    """A fresh client logged in as the given user."""

    def _as(user):
        c = app.test_client()
        resp = c.post("/login", data={"username": user.username, "password": factories.PASSWORD})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        return c

    return _as


# ---------------------------------------------------------------- the centre


def test_badge_shows_unread_count(db, w, as_user):
    """The top bar shows the number of unread notifications, and nothing when none."""
    me = w.u.base1_coord
    c = as_user(me)
    html = c.get("/notifications").get_data(as_text=True)
    assert 'data-testid="notification-badge"' in html and "未读）" not in html
    for i in range(3):
        _note(db, me, n=i)
    _note(db, me, n=9, read=True)
    _note(db, w.u.base1_staff, n=1)  # someone else's
    html = c.get("/notifications").get_data(as_text=True)
    assert "通知（3 条未读）" in html


def test_the_unread_count_comes_with_the_session_and_follows_changes(db, w, as_user, app, count_queries):
    """The top bar's count is read in the session's own statement (no statement of its
    own), and a notification added or read in the same request drops it, so the top bar
    counts again after the change."""
    from flask import g

    from app import notifications
    from app.reminders import prefs

    me = w.u.base1_coord
    notes = [_note(db, me, n=i) for i in range(2)]
    db.session.commit()
    c = as_user(me)
    c.get("/notifications")
    with count_queries() as statements:
        html = c.get("/notifications").get_data(as_text=True)
    assert "通知（2 条未读）" in html
    unread_alone = [
        s for s in statements if s.lstrip().upper().startswith("SELECT COUNT") and "read_at IS NULL" in s
    ]
    assert not unread_alone, unread_alone
    with app.test_request_context("/", method="POST"):
        notifications.remember_unread(2)
        prefs.mark_read(notes[0], now=NOW)
        assert "_unread_notifications" not in g
        notifications.remember_unread(1)
        notifications.notify_users(
            [me.id],
            kind="remind",
            subject_type="Assignment",
            subject_id=1,
            message="新通知",
            dedupe_key="test:again",
            actor_id=None,
            now=NOW,
        )
        assert "_unread_notifications" not in g
        notifications.remember_unread(2)
        prefs.mark_all_read(me, now=NOW)
        assert "_unread_notifications" not in g
        db.session.rollback()
    # and through a page: the count after reading one
    c.get(f"/notifications/{notes[0].id}/open")
    assert "通知（1 条未读）" in c.get("/notifications").get_data(as_text=True)


def test_list_newest_first_unread_highlighted_and_paginated(db, w, as_user):
    """Only my notifications, newest first, unread marked, 30 per page."""
    me = w.u.base1_coord
    old = _note(db, me, message="较早的通知", n=1, read=True)
    new = _note(db, me, message="较新的通知", n=2)
    _note(db, w.u.base1_staff, message="别人的通知", n=3)
    html = as_user(me).get("/notifications").get_data(as_text=True)
    assert "别人的通知" not in html
    assert html.index("较新的通知") < html.index("较早的通知")
    assert f'data-testid="notification-{new.id}" data-unread="true"' in html
    assert f'data-testid="notification-{old.id}" data-unread="false"' in html
    for i in range(40):
        _note(db, me, message=f"批量通知{i}", n=10 + i)
    c = as_user(me)
    page1 = c.get("/notifications").get_data(as_text=True)
    page2 = c.get("/notifications?page=2").get_data(as_text=True)
    assert page1.count("data-unread=") == 30
    assert page2.count("data-unread=") == 12


def test_mark_read_and_read_all(db, w, as_user):
    """POST read marks one; read-all marks the rest; neither touches others' rows."""
    me, other = w.u.base1_coord, w.u.base1_staff
    a, b = _note(db, me, n=1), _note(db, me, n=2)
    theirs = _note(db, other, n=3)
    c = as_user(me)
    assert c.post(f"/notifications/{a.id}/read").status_code == 302
    db.session.expire_all()
    assert a.read_at is not None and b.read_at is None
    assert c.post("/notifications/read-all").status_code == 302
    db.session.expire_all()
    assert b.read_at is not None and theirs.read_at is None


def test_open_marks_read_and_redirects_to_item(db, w, as_user):
    """Open goes to the assignment; a new item to the recipient court's own assignment of
    it (to sign for), or to the item where the court holds none."""
    me = w.u.base1_coord
    assert w.a.unit_id == me.unit_id
    na = _note(db, me, "Assignment", w.a.id, n=1)
    nt = _note(db, me, "Task", w.task.id, n=2)
    c = as_user(me)
    resp = c.get(f"/notifications/{na.id}/open")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/assignments/{w.a.id}")
    resp = c.get(f"/notifications/{nt.id}/open")
    assert resp.headers["Location"].endswith(f"/assignments/{w.a.id}")
    above = w.u.assigner  # the court that assigned it holds no assignment of it
    nu = _note(db, above, "Task", w.task.id, n=3)
    resp = as_user(above).get(f"/notifications/{nu.id}/open")
    assert resp.headers["Location"].endswith(f"/tasks/{w.task.id}")
    db.session.expire_all()
    assert na.read_at is not None and nt.read_at is not None and nu.read_at is not None


def test_open_checklist_entry_goes_to_its_checklist(db, w, as_user):
    """A ChecklistEntry notification opens the checklist page at the entry."""
    from app.checklists.models import ChecklistEntry

    template = factories.checklist_template(w.u.reviewer)
    (checklist,) = factories.apply_checklist(w.u.reviewer, template, w.t.base1)
    db.session.commit()
    entry = db.session.scalars(
        select(ChecklistEntry).where(ChecklistEntry.checklist_id == checklist.id)
    ).first()
    n = _note(db, w.u.base1_coord, "ChecklistEntry", entry.id)
    resp = as_user(w.u.base1_coord).get(f"/notifications/{n.id}/open")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/checklists/{checklist.id}#e{entry.id}")


def test_someone_elses_notification_is_404(db, w, as_user):
    """Reading or opening another person's notification answers 404 and changes nothing."""
    theirs = _note(db, w.u.base1_staff, n=1)
    c = as_user(w.u.base1_coord)
    assert c.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert c.get(f"/notifications/{theirs.id}/open").status_code == 404
    assert c.get("/notifications/999999/open").status_code == 404
    db.session.expire_all()
    assert theirs.read_at is None


# ---------------------------------------------------------------- preferences and muting


def test_preferences_saved_and_journaled(db, w, as_user):
    """The e-mail mode is saved and the change journaled; a bad value is refused."""
    me = w.u.base1_coord
    c = as_user(me)
    html = c.get("/account/notifications").get_data(as_text=True)
    assert "每日汇总" in html and "立即发送" in html and "不发送邮件" in html
    assert c.post("/account/notifications", data={"email_mode": "off"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, me.id).email_mode == "off"
    entry = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "user.email_mode")).one()
    assert entry.actor_id == me.id and entry.object_id == me.id
    assert entry.before == {"email_mode": "digest"} and entry.after == {"email_mode": "off"}
    assert c.post("/account/notifications", data={"email_mode": "loud"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, me.id).email_mode == "off"


def test_unit_mute_toggled_by_admin_in_scope(db, w, as_user):
    """An admin mutes and unmutes a unit below; journaled each time."""
    c = as_user(w.u.admin)
    resp = c.post(f"/admin/units/{w.t.base1.id}/email-mute")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/units/{w.t.base1.id}")
    db.session.expire_all()
    assert db.session.get(Unit, w.t.base1.id).email_muted is True
    c.post(f"/admin/units/{w.t.base1.id}/email-mute")
    db.session.expire_all()
    assert db.session.get(Unit, w.t.base1.id).email_muted is False
    entries = db.session.scalars(
        select(JournalEntry).where(JournalEntry.action == "unit.email_mute").order_by(JournalEntry.id)
    ).all()
    assert [e.after for e in entries] == [{"email_muted": True}, {"email_muted": False}]
    assert all(e.actor_id == w.u.admin.id for e in entries)


@pytest.mark.parametrize(
    ("who", "where", "status"),
    [
        ("admin", "base3", 404),
        ("admin", "high", 404),
        ("assigner", "base1", 403),
        ("base1_coord", "base1", 403),
    ],
)
def test_unit_mute_refused(db, w, as_user, who, where, status):
    """Out of the admin's scope → 404; not an admin → 403; nothing changes."""
    unit = getattr(w.t, where)
    assert as_user(getattr(w.u, who)).post(f"/admin/units/{unit.id}/email-mute").status_code == status
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).email_muted is False


# ---------------------------------------------------------------- API


def test_api_list_and_unread_filter(db, w, as_user):
    """GET /api/v1/notifications: mine only, newest first; unread=1 filters; per_page capped."""
    me = w.u.base1_coord
    read = _note(db, me, n=1, read=True)
    unread = _note(db, me, n=2)
    _note(db, w.u.base1_staff, n=3)
    c = as_user(me)
    data = c.get("/api/v1/notifications").get_json()
    assert [i["id"] for i in data["items"]] == [unread.id, read.id]
    assert data["unread"] == 1
    item = data["items"][0]
    assert set(item) == {"id", "kind", "subject_type", "subject_id", "message", "created_at", "read_at"}
    assert item["read_at"] is None and datetime.fromisoformat(item["created_at"]).utcoffset() is not None
    data = c.get("/api/v1/notifications?unread=1").get_json()
    assert [i["id"] for i in data["items"]] == [unread.id]
    assert len(c.get("/api/v1/notifications?per_page=1&page=2").get_json()["items"]) == 1
    resp = c.get("/api/v1/notifications?per_page=201")
    assert resp.status_code == 400 and "error" in resp.get_json()


def test_api_mark_read_and_404(db, w, as_user):
    """POST /api/v1/notifications/ID/read marks mine; someone else's is 404 as JSON."""
    mine, theirs = _note(db, w.u.base1_coord, n=1), _note(db, w.u.base1_staff, n=2)
    c = as_user(w.u.base1_coord)
    resp = c.post(f"/api/v1/notifications/{mine.id}/read")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == mine.id and body["read_at"]
    assert c.get("/api/v1/notifications").get_json()["unread"] == 0
    resp = c.post(f"/api/v1/notifications/{theirs.id}/read")
    assert resp.status_code == 404 and "error" in resp.get_json()
    db.session.expire_all()
    assert theirs.read_at is None


def test_api_requires_login(client, db, tree):
    """Anonymous callers get 401."""
    assert client.get("/api/v1/notifications").status_code == 401


# ---------------------------------------------------------------- traffic light


@pytest.mark.parametrize(
    ("deadline", "closed", "today", "progress", "start", "expected"),
    [
        (date(2026, 6, 30), False, date(2026, 7, 1), 90, None, "red"),  # overdue
        (date(2026, 6, 30), False, date(2026, 6, 23), 100, None, "yellow"),  # due within 7 days
        (date(2026, 6, 30), False, date(2026, 6, 22), 100, None, "green"),  # 8 days out
        (date(2026, 6, 30), False, date(2026, 5, 20), 30, date(2026, 3, 2), "yellow"),  # behind pace
        (date(2026, 6, 30), False, date(2026, 5, 20), 60, date(2026, 3, 2), "green"),  # on pace
        (date(2026, 6, 30), False, date(2026, 3, 20), 0, date(2026, 3, 2), "green"),  # early days
        (date(2026, 6, 30), True, date(2026, 7, 9), 0, None, "grey"),  # closed
        (None, False, date(2026, 7, 9), 0, None, "green"),  # no deadline
    ],
)
def test_traffic_light(deadline, closed, today, progress, start, expected):
    """red / yellow by days / yellow by pace / green / grey."""
    assert traffic_light(deadline, closed, today, progress=progress, start=start) == expected


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        (datetime(2026, 3, 20, 9, 0), "■ 绿灯"),
        (datetime(2026, 5, 20, 9, 0), "▲ 黄灯"),  # behind the expected pace
        (datetime(2026, 6, 25, 9, 0), "▲ 黄灯"),  # due within 7 days
        (datetime(2026, 7, 5, 9, 0), "● 红灯"),
    ],
)
def test_light_on_list_and_item_pages(db, w, as_user, when, shown):
    """The light (shape + word) on /assignments, my work and the assignment page."""
    with time_machine.travel(when.replace(tzinfo=SH), tick=False):
        c_assigner, c_receiver = as_user(w.u.assigner), as_user(w.u.base1_coord)
        word = shown.split()[1]
        for c, path in (
            (c_assigner, "/assignments"),
            (c_assigner, f"/assignments/{w.a.id}"),
            (c_receiver, "/my"),
        ):
            html = c.get(path).get_data(as_text=True)
            assert f'title="{word}"' in html and shown.split()[0] in html, path


def test_closed_assignment_shows_grey(db, w, as_user):
    """A closed assignment shows the grey light (○ 灰灯) whatever the date."""
    w.a.status = "closed"
    db.session.commit()
    with time_machine.travel(datetime(2026, 7, 5, 9, 0, tzinfo=SH), tick=False):
        html = as_user(w.u.assigner).get(f"/assignments/{w.a.id}").get_data(as_text=True)
    assert 'data-light="grey"' in html and "灰灯" in html


# ---------------------------------------------------------------- query cost


@pytest.mark.parametrize("path", ["/account/notifications", "/assignments", "/notifications"])
def test_badge_costs_one_query_per_page(db, w, as_user, count_queries, path):
    """The unread count is one statement per page, whatever the number of notifications."""
    me = w.u.assigner
    c = as_user(me)
    with count_queries() as few:
        assert c.get(path).status_code == 200
    for i in range(20):
        _note(db, me, n=i)
    db.session.commit()
    with count_queries() as many:
        assert c.get(path).status_code == 200
    assert len(many) == len(few)
    counts = [s for s in many if "count(" in s.lower() and "notifications.read_at IS NULL" in s]
    assert len(counts) == 1


def test_no_badge_query_for_anonymous(client, db, tree, count_queries):
    """The login page does not count notifications."""
    with count_queries() as statements:
        assert client.get("/login").status_code == 200
    assert not [s for s in statements if "notifications" in s]
