"""Server-side sessions: a new one at every login, idle and absolute lifetimes enforced
on the server, and logout / password change / deactivation / reset ending every
session and every API token of the user."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app import create_app
from app.api import tokens
from app.auth.models import UserSession
from app.org import services
from app.org.models import User
from app.security import settings
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows, open_sessions, post_login


def _at(moment):
    return time_machine.travel(moment.isoformat() + "+00:00", tick=False)


def _user_id_in_cookie(client) -> str:
    with client.session_transaction() as sess:
        return sess.get("_user_id", "")


def test_login_starts_a_new_server_side_session(app, db, client, staff):
    """The cookie names a random key; only its SHA-256 is stored, with address and browser."""
    post_login(client, "zhangsan", headers={"User-Agent": "TestBrowser/1.0"})
    (row,) = open_sessions(db, staff)
    user_id, _, key = _user_id_in_cookie(client).partition(":")
    assert user_id == str(staff.id) and len(key) >= 40
    assert key not in row.key_hash and len(row.key_hash) == 64
    assert (row.ip, row.user_agent) == ("10.0.0.1", "TestBrowser/1.0")
    assert client.get("/").status_code == 200


def test_session_is_renewed_at_login(app, db, client, staff):
    """A cookie planted before the login (session fixation) is not carried into it, and
    each login gets a new key: the session id is renewed."""
    with client.session_transaction() as sess:
        sess["planted"] = "by-an-attacker"
        sess["_user_id"] = f"{staff.id}:guessed-key"
    planted = client.get_cookie("session").value
    assert client.get("/").status_code == 302  # the planted id opens nothing
    post_login(client, "zhangsan")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        first = sess["_user_id"]
    assert first != f"{staff.id}:guessed-key"
    attacker = app.test_client()
    attacker.set_cookie("session", planted)
    assert attacker.get("/").status_code == 302  # the attacker's copy is still logged out
    client.post("/logout")
    post_login(client, "zhangsan")
    assert _user_id_in_cookie(client) != first


def test_idle_timeout_ends_the_session_on_the_server(app, db, client, staff):
    """31 minutes without a request: the row is ended (idle), audited, and the user is
    sent to the login page with a Chinese message."""
    t0 = utcnow()
    with _at(t0):
        post_login(client, "zhangsan")
    with _at(t0 + timedelta(minutes=29)):
        assert client.get("/").status_code == 200  # activity keeps it alive
    with _at(t0 + timedelta(minutes=29 + 31)):
        resp = client.get("/")
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
        page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "超过 30 分钟没有操作" in page
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == staff.id))
    assert row.end_reason == "idle" and row.ended_at is not None
    (event,) = audit_rows(db, "auth.timeout")
    assert event.user_id == staff.id and event.detail["reason"] == "idle"


def _idle_minutes(db, staff, minutes: int, sec=None):
    """The 安全管理员 (made on first use) saves SESSION_IDLE_MINUTES; returns them."""
    sec = sec or factories.user("sec", staff.unit, ["secadmin"])
    settings.save(sec, {"SESSION_IDLE_MINUTES": str(minutes)}, now=utcnow())
    db.session.commit()
    return sec


def test_idle_timeout_is_a_setting(app, db, client, staff):
    """The 安全管理员's value wins over the config default (30)."""
    _idle_minutes(db, staff, 10)
    t0 = utcnow()
    with _at(t0):
        post_login(client, "zhangsan")
    with _at(t0 + timedelta(minutes=11)):
        assert client.get("/").status_code == 302


def test_settings_come_with_the_session_statement(app, db, client, staff, count_queries):
    """The stored settings are read in the session's own statement (no statement of their
    own on any page), and a value saved later is the one the next request applies."""
    sec = _idle_minutes(db, staff, 20)
    t0 = utcnow()
    with _at(t0):
        post_login(client, "zhangsan")
        with count_queries() as statements:
            assert client.get("/").status_code == 200
    alone = [s for s in statements if "FROM security_settings" in s and "user_sessions" not in s]
    assert not alone, alone
    with _at(t0 + timedelta(minutes=19)):
        assert client.get("/").status_code == 200  # 19 < 20: still alive
    _idle_minutes(db, staff, 10, sec)
    with _at(t0 + timedelta(minutes=19 + 11)):
        assert client.get("/").status_code == 302  # 11 > 10: the new value applies


def test_absolute_lifetime_ends_even_an_active_session(app, db, client, staff):
    t0 = utcnow()
    with _at(t0):
        post_login(client, "zhangsan")
    for minutes in range(25, 12 * 60, 25):  # a request every 25 minutes, never idle
        with _at(t0 + timedelta(minutes=minutes)):
            assert client.get("/healthz").status_code == 200
            assert client.get("/").status_code == 200
    with _at(t0 + timedelta(hours=12, minutes=1)):
        resp = client.get("/")
        assert resp.status_code == 302
        assert "超过 12 小时" in client.get("/login").get_data(as_text=True)
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == staff.id))
    assert row.end_reason == "absolute"


def test_api_with_a_timed_out_session_answers_401_in_chinese(app, db, client, staff):
    t0 = utcnow()
    with _at(t0):
        post_login(client, "zhangsan")
    with _at(t0 + timedelta(hours=1)):
        resp = client.get("/api/v1/units")
    assert resp.status_code == 401 and "重新登录" in resp.get_json()["error"]


def test_last_seen_is_written_at_most_once_a_minute(app, db, client, staff):
    t0 = utcnow().replace(microsecond=0)
    with _at(t0):
        post_login(client, "zhangsan")
    row_id = open_sessions(db, staff)[0].id

    def last_seen():
        db.session.expire_all()
        return db.session.get(UserSession, row_id).last_seen_at

    for seconds in (10, 30, 59):
        with _at(t0 + timedelta(seconds=seconds)):
            client.get("/")
        assert last_seen() == t0
    with _at(t0 + timedelta(seconds=61)):
        client.get("/")
    assert last_seen() == t0 + timedelta(seconds=61)


def test_logout_on_one_client_ends_a_session_copied_to_another(app, db, client, staff):
    post_login(client, "zhangsan")
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/").status_code == 200
    client.post("/logout")
    resp = copy.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert audit_rows(db, "auth.logout")[-1].user_id == staff.id


def test_logout_ends_every_session_and_token_of_the_user(app, db, client, staff):
    post_login(client, "zhangsan")
    phone = app.test_client()
    post_login(phone, "zhangsan", ip="10.0.0.2")
    token = tokens.issue(staff, now=utcnow())
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 200
    client.post("/logout")
    assert phone.get("/").status_code == 302
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 401
    assert open_sessions(db, staff) == []
    reasons = set(db.session.scalars(select(UserSession.end_reason).where(UserSession.user_id == staff.id)))
    assert reasons == {"logout"}


def test_password_change_revokes_api_tokens(app, db, client, staff):
    """A token answered 200 after the password change (issue #10): now it answers 401,
    the other browser is logged out, and this one goes on in a new session."""
    post_login(client, "zhangsan")
    other = app.test_client()
    post_login(other, "zhangsan", ip="10.0.0.2")
    old_id = _user_id_in_cookie(client)
    token = tokens.issue(staff, now=utcnow())
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    resp = client.post(
        "/account/password",
        data={"old_password": factories.PASSWORD, "new_password": "Fresh@2026", "confirm": "Fresh@2026"},
    )
    assert resp.status_code == 302
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 401
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200 and _user_id_in_cookie(client) != old_id
    assert len(open_sessions(db, staff)) == 1
    assert audit_rows(db, "auth.password_changed")[-1].detail == {"by": "self"}


@pytest.mark.parametrize("how", ["deactivate", "reset"])
def test_deactivation_and_reset_end_sessions_and_tokens(app, db, client, tree, staff, how):
    post_login(client, "zhangsan")
    token = tokens.issue(staff, now=utcnow())
    db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 200
    user = db.session.get(User, staff.id)
    if how == "deactivate":
        boss = factories.user("boss", tree.high, ["admin"])
        services.set_user_active(boss, user, False, expected_version=user.version, now=utcnow())
    else:
        services.reset_password(
            factories.user("sec", tree.high, ["secadmin"]), user, "Temp@2026x", now=utcnow()
        )
    db.session.commit()
    assert client.get("/").status_code == 302
    assert app.test_client().get("/api/v1/units", headers=bearer).status_code == 401
    assert open_sessions(db, staff) == []
    if how == "reset":
        assert audit_rows(db, "auth.password_changed")[-1].detail["by"] == "reset"
    revoked = db.session.scalar(select(func.count()).where(tokens.ApiToken.revoked_at.is_not(None)))
    assert revoked == 1


def test_sessions_hold_across_app_processes(app, db, database_url, tmp_path, staff):
    """Two app instances (two processes or hosts) on one database: a login on one is
    valid on the other, and a logout on the other ends it on the first."""
    other = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "u2"))
    other.test_client_class = type(app.test_client())
    a = app.test_client()
    post_login(a, "zhangsan")
    cookie = a.get_cookie("session").value
    b = other.test_client()
    b.set_cookie("session", cookie)
    try:
        assert b.get("/").status_code == 200
        b.post("/logout")
        assert a.get("/").status_code == 302
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
