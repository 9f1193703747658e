"""Logging in and out, sessions that really end, password changes.

The old lock-out tests (test_account_lockout_after_repeated_failures,
test_lockout_ends_after_the_lock_period, test_address_lockout_covers_many_usernames)
encoded a lock that refused the owner's right password; issue #10 changes that on
purpose — the throttle per (account, address) is tested in test_throttle.py."""

import re

import pytest
from sqlalchemy import select

from app.journal import JournalEntry
from app.org import services
from app.org.models import User
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows


def _login(client, username, password=factories.PASSWORD, **kw):
    return client.post("/login", data={"username": username, "password": password}, **kw)


def _session_cookie(client):
    return client.get_cookie("session").value


def _flash(resp) -> str:
    """The last alert text of a page."""
    alerts = re.findall(
        r'<div class="alert[^"]*" role="alert">(.*?)</div>', resp.get_data(as_text=True), re.S
    )
    return alerts[-1].strip() if alerts else ""


def test_login_and_home(client, staff):
    resp = _login(client, "zhangsan")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    html = client.get("/").get_data(as_text=True)
    assert "东山人民法庭" in html


def test_wrong_password_gives_one_generic_message(client, staff):
    """Unknown user and wrong password look the same (no username probing)."""
    a = _login(client, "zhangsan", "wrong-pass1")
    b = _login(client, "nobody", "wrong-pass1")
    assert a.status_code == b.status_code == 401
    assert "用户名或密码错误" in a.get_data(as_text=True)
    assert "用户名或密码错误" in b.get_data(as_text=True)
    assert _flash(a) == _flash(b)


def test_empty_login_form_is_a_400_with_chinese_messages(client, staff):
    resp = client.post("/login", data={})
    assert resp.status_code == 400
    assert "请输入用户名" in resp.get_data(as_text=True)


def test_copied_cookie_is_dead_after_logout(client, app, staff):
    """Logout ends the session on the server: an old copy of the cookie no longer works."""
    _login(client, "zhangsan")
    stolen = _session_cookie(client)
    assert client.post("/logout").status_code == 302
    other = app.test_client()
    other.set_cookie("session", stolen)
    resp = other.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_deactivated_user_is_logged_out_and_cannot_log_in(client, app, db, tree, staff):
    """Changed on purpose (issue #10): a deactivated account gets the same generic
    message as a wrong password — the reason ("inactive") goes to the audit log only."""
    _login(client, "zhangsan")
    admin = factories.user("boss", tree.high, ["admin"])
    user = db.session.get(User, staff.id)
    services.set_user_active(admin, user, False, expected_version=user.version, now=utcnow())
    db.session.commit()
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    resp = _login(client, "zhangsan")
    assert resp.status_code == 401
    assert _flash(resp) == _flash(_login(app.test_client(), "nobody", "wrong-pass1"))
    assert "已停用" not in resp.get_data(as_text=True)
    reasons = [row.detail["reason"] for row in audit_rows(db, "auth.login_failed")]
    assert reasons == ["inactive", "unknown user"]


def test_open_redirect_is_refused(client, staff):
    resp = _login(client, "zhangsan", query_string={"next": "https://evil.example/"})
    assert resp.headers["Location"] == "/"
    client.post("/logout")
    resp = _login(client, "zhangsan", query_string={"next": "/admin/units"})
    assert resp.headers["Location"] == "/admin/units"


def test_change_own_password_ends_other_sessions(client, app, staff):
    _login(client, "zhangsan")
    other = app.test_client()
    _login(other, "zhangsan")
    resp = client.post(
        "/account/password",
        data={"old_password": factories.PASSWORD, "new_password": "NewPass2026", "confirm": "NewPass2026"},
    )
    assert resp.status_code == 302
    assert client.get("/").status_code == 200  # this browser carries on
    assert other.get("/").status_code == 302  # the other device is logged out
    client.post("/logout")
    assert _login(client, "zhangsan", "NewPass2026").status_code == 302


@pytest.mark.parametrize(
    ("old", "new", "confirm", "message"),
    [
        ("wrong-pass1", "NewPass2026", "NewPass2026", "原密码不正确"),
        (factories.PASSWORD, "short1", "short1", "至少"),
        (factories.PASSWORD, "onlyletters", "onlyletters", "至少三类"),
        (factories.PASSWORD, "Zhangsan2026", "Zhangsan2026", "不能包含用户名"),
        (factories.PASSWORD, "Password1", "Password1", "常见密码"),
        (factories.PASSWORD, "NewPass2026", "Different2026", "不一致"),
    ],
)
def test_bad_password_changes(client, staff, old, new, confirm, message):
    _login(client, "zhangsan")
    resp = client.post(
        "/account/password", data={"old_password": old, "new_password": new, "confirm": confirm}
    )
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)


def test_admin_reset_forces_a_new_password(client, app, db, tree, staff):
    """The 安全管理员 resets (三员分立); the first login after it must set a new password."""
    admin = factories.user("boss", tree.high, ["secadmin"])
    db.session.commit()
    _login(client, "boss")
    resp = client.post(f"/admin/users/{staff.id}/reset-password", data={"password": "Temp2026x"})
    assert resp.status_code == 302
    user_client = app.test_client()
    assert _login(user_client, "zhangsan", "Temp2026x").headers["Location"] == "/account/password"
    assert user_client.get("/").headers["Location"] == "/account/password"
    resp = user_client.post(
        "/account/password",
        data={"old_password": "Temp2026x", "new_password": "Mine2026x", "confirm": "Mine2026x"},
    )
    assert resp.status_code == 302
    assert user_client.get("/").status_code == 200
    actions = set(db.session.scalars(select(JournalEntry.action).where(JournalEntry.object_id == staff.id)))
    assert {"user.reset_password", "user.change_password", "auth.login"} <= actions
    assert admin.id


def test_csrf_token_is_required(app, db, staff):
    """With CSRF on (as in production), a form without the token is refused in Chinese."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    resp = _login(client, "zhangsan")
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
