"""Lock-out that cannot be turned against the owner: a throttle per (account, address)
with a growing delay, addresses held back only for the accounts they tried, locks the
安全管理员 can see and lift, and client addresses from trusted proxies only."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app import create_app
from app.auth import throttle
from app.auth.models import LoginAttempt, UserSession
from app.auth.services import LoginRefused, check_password, complete_login
from app.auth.throttle import LoginThrottled
from app.extensions import db as _db
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows, post_login

A, B = "10.0.0.1", "10.0.0.2"


def _fail(username, ip, now):
    with pytest.raises(LoginRefused):
        check_password(username, "wrong-Pass1", ip, now=now)


def _ok(username, ip, now):
    return check_password(username, factories.PASSWORD, ip, now=now)


def _throttled(username, ip, now, password=factories.PASSWORD):
    with pytest.raises(LoginThrottled):
        check_password(username, password, ip, now=now)


def test_growing_delay_after_the_limit(app, db, staff):
    """After 5 failures: 1 minute, then 2, then 4 … capped at LOGIN_LOCK_MAX_MINUTES."""
    app.config["LOGIN_LOCK_MAX_MINUTES"] = 6
    t = utcnow()
    for i in range(5):
        _fail("zhangsan", A, t + timedelta(seconds=i))
    t += timedelta(seconds=4)
    for expected_minutes in (1, 2, 4, 6, 6):  # 8 would pass the cap of 6
        _throttled("zhangsan", A, t + timedelta(minutes=expected_minutes) - timedelta(seconds=1))
        t += timedelta(minutes=expected_minutes)
        _fail("zhangsan", A, t)  # allowed to try again, and wrong again
    assert throttle.locked_until("zhangsan", A, now=t) == t + timedelta(minutes=6)


def test_below_the_limit_nothing_waits(app, db, staff):
    t = utcnow()
    for i in range(4):
        _fail("zhangsan", A, t + timedelta(seconds=i))
    assert _ok("zhangsan", A, t + timedelta(seconds=5)) == staff


def test_the_right_password_from_a_clean_address_is_never_refused(app, db, staff):
    """An attacker at A throttles only A's tries: the owner at B logs in at once."""
    t = utcnow()
    for i in range(30):
        throttle.record("zhangsan", A, False, now=t + timedelta(seconds=i))
    _throttled("zhangsan", A, t + timedelta(seconds=31))  # even the right password, from A
    assert _ok("zhangsan", B, t + timedelta(seconds=31)) == staff
    assert _ok("zhangsan", B, t + timedelta(seconds=32)) == staff


def test_the_right_password_after_the_wait_resets_the_count(app, db, staff):
    t = utcnow()
    for i in range(5):
        _fail("zhangsan", A, t + timedelta(seconds=i))
    t += timedelta(minutes=2)
    complete_login(_ok("zhangsan", A, t), A, channel="web", second_factor=None, now=t)
    _fail("zhangsan", A, t + timedelta(seconds=1))
    assert throttle.locked_until("zhangsan", A, now=t + timedelta(seconds=2)) is None


def test_a_noisy_address_is_held_back_only_for_the_accounts_it_tried(app, db, tree, staff):
    """Past LOGIN_MAX_FAILURES_PER_IP, an address waits on every account it has failed
    on — once each is enough — but not on accounts it never tried."""
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 6
    other = factories.user("lisi", tree.trib1)
    db.session.commit()
    t = utcnow()
    _fail("zhangsan", A, t)
    for i in range(5):
        _fail(f"guess{i}", A, t + timedelta(seconds=i + 1))
    now = t + timedelta(seconds=10)
    _throttled("zhangsan", A, now)  # one failure here, but the address is past its limit
    assert _ok("lisi", A, now) == other  # never tried from A: not held back
    assert _ok("zhangsan", B, now) == staff


def test_unknown_usernames_are_throttled_alike(app, db, client, staff):
    """Whether the account exists or not, five failures give the same answer."""
    for name in ("zhangsan", "nobody"):
        for _ in range(5):
            post_login(client, name, "wrong-Pass1")
    a, b = post_login(client, "zhangsan"), post_login(client, "nobody")
    assert a.status_code == b.status_code == 429
    assert a.get_data(as_text=True).count("分钟后再试") == b.get_data(as_text=True).count("分钟后再试") == 1


def test_login_page_throttles_and_audits_the_reason(app, db, client, staff):
    for _ in range(5):
        assert post_login(client, "zhangsan", "wrong-Pass1").status_code == 401
    resp = post_login(client, "zhangsan")
    assert resp.status_code == 429 and "1 分钟后再试" in resp.get_data(as_text=True)
    assert post_login(app.test_client(), "zhangsan", ip=B).status_code == 302
    reasons = [row.detail["reason"] for row in audit_rows(db, "auth.login_failed")]
    assert reasons == ["wrong password"] * 5 + ["locked"]
    post_login(client, "nobody", "wrong-Pass1", ip="10.9.9.9")
    assert audit_rows(db, "auth.login_failed")[-1].detail["reason"] == "unknown user"
    assert audit_rows(db, "auth.login")[-1].user_id == staff.id


def test_security_admin_sees_and_lifts_a_lock(app, db, client, login, staff, secadmin):
    t = utcnow()
    for i in range(7):
        throttle.record("zhangsan", A, False, now=t + timedelta(seconds=i))
    db.session.commit()
    with time_machine.travel((t + timedelta(seconds=30)).isoformat() + "+00:00", tick=False):
        login(secadmin)
        page = client.get("/admin/security/locks").get_data(as_text=True)
        assert "zhangsan" in page and A in page and "解除锁定" in page
        (lock,) = throttle.current_locks(utcnow())
        assert (lock.username, lock.ip, lock.failures) == ("zhangsan", A, 7)
        assert lock.until == t + timedelta(seconds=6, minutes=4)
        resp = client.post("/admin/security/locks/unlock", data={"username": "zhangsan", "ip": A})
        assert resp.status_code == 302
        assert throttle.current_locks(utcnow()) == []
        user_client = app.test_client()
        assert post_login(user_client, "zhangsan", ip=A).status_code == 302
    cleared = db.session.scalars(select(LoginAttempt.cleared_at).where(LoginAttempt.success.is_(False)))
    assert all(c is not None for c in cleared)
    (event,) = audit_rows(db, "security.unlock")
    assert event.user_id == secadmin.id
    assert {k: event.detail[k] for k in ("username", "ip", "cleared")} == {
        "username": "zhangsan",
        "ip": A,
        "cleared": 7,
    }


def test_only_the_security_admin_reaches_the_locks(app, db, client, login, tree, staff):
    login(factories.user("boss", tree.high, ["admin"]))
    assert client.get("/admin/security/locks").status_code == 403
    assert client.post("/admin/security/locks/unlock", data={"username": "x", "ip": A}).status_code == 403


# ---------------------------------------------------------------- behind a reverse proxy


@pytest.fixture
def proxied_app(app, database_url, tmp_path):
    """The same database, served behind one trusted reverse proxy."""
    proxied = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "u2"), TRUSTED_PROXIES=1
    )
    proxied.test_client_class = type(app.test_client())
    yield proxied
    with proxied.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _via_proxy(client, client_ip, password=factories.PASSWORD):
    return client.post(
        "/login",
        data={"username": "zhangsan", "password": password},
        headers={"X-Forwarded-For": client_ip},
        environ_base={"REMOTE_ADDR": "172.16.0.1"},  # the proxy
    )


def test_trusted_proxy_gives_the_client_address(app, db, proxied_app, staff):
    """With TRUSTED_PROXIES=1 the address is X-Forwarded-For's: two people behind the
    proxy are throttled apart, not as one court-wide address."""
    attacker, owner = proxied_app.test_client(), proxied_app.test_client()
    for _ in range(5):
        assert _via_proxy(attacker, "203.0.113.7", "wrong-Pass1").status_code == 401
    assert _via_proxy(attacker, "203.0.113.7").status_code == 429
    assert _via_proxy(owner, "203.0.113.8").status_code == 302
    ips = set(db.session.scalars(select(LoginAttempt.ip)))
    assert ips == {"203.0.113.7", "203.0.113.8"}
    assert db.session.scalar(select(UserSession.ip)) == "203.0.113.8"


def test_without_trusted_proxies_the_header_is_ignored(app, db, client, staff):
    """TRUSTED_PROXIES=0 (the default): a client cannot choose its address by header."""
    assert app.config["TRUSTED_PROXIES"] == 0
    for i in range(5):
        _via_proxy(client, f"198.51.100.{i}", "wrong-Pass1")
    assert _via_proxy(client, "198.51.100.99").status_code == 429
    assert set(db.session.scalars(select(LoginAttempt.ip))) == {"172.16.0.1"}
