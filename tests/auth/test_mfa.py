"""The second factor: TOTP enrolment by a QR code drawn on the server, a second login
step, one-time recovery codes, MFA_REQUIRED_ROLES, disabling and the 安全管理员's reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.auth import mfa
from app.auth.models import RecoveryCode, UserSession
from app.auth.services import LoginRefused, authenticate
from app.org.models import User
from app.security import settings
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows, code_at, open_sessions, post_login


def _enrol(client) -> tuple[str, list[str]]:
    """Enrol through the pages; return the secret and the recovery codes shown."""
    page = client.get("/account/mfa/enrol").get_data(as_text=True)
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7]+)<', page).group(1)
    resp = client.post("/account/mfa/enrol", data={"code": code_at(secret)})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    codes = re.findall(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", resp.get_data(as_text=True))
    return secret, codes


@pytest.fixture
def enrolled(app, db, client, staff):
    """zhangsan with a second factor; the client is logged out again."""
    post_login(client, "zhangsan")
    secret, codes = _enrol(client)
    client.post("/logout")
    db.session.expire_all()
    return secret, codes


def test_enrolment_page_draws_the_qr_code_itself(app, db, client, login, staff):
    """Inline SVG made by the server: no <img> from another host, no script, and the CSP
    allows no inline script."""
    login(staff)
    resp = client.get("/account/mfa/enrol")
    page = resp.get_data(as_text=True)
    qr = re.search(r'data-testid="mfa-qr">(.*?)</div>', page, re.S).group(1)
    assert qr.strip().startswith("<svg") and "<path" in qr
    assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "http" not in qr  # no inline script
    csp = resp.headers.get("Content-Security-Policy", "")
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src and "'unsafe-inline'" not in script_src.group(1)
    secret = re.search(r'data-testid="mfa-secret">([A-Z2-7]+)<', page).group(1)
    again = client.get("/account/mfa/enrol").get_data(as_text=True)
    assert again.count(secret) == 1  # the same secret until a code confirms it
    assert db.session.get(User, staff.id).mfa_enabled_at is None


def test_a_wrong_code_does_not_enrol(app, db, client, login, staff):
    login(staff)
    client.get("/account/mfa/enrol")
    resp = client.post("/account/mfa/enrol", data={"code": "000000"})
    assert resp.status_code == 400 and "动态验证码不正确" in resp.get_data(as_text=True)
    assert db.session.get(User, staff.id).mfa_enabled_at is None


def test_enrolment_shows_ten_recovery_codes_once_and_keeps_hashes(app, db, client, login, staff):
    login(staff)
    secret, codes = _enrol(client)
    assert len(set(codes)) == 10
    user = db.session.get(User, staff.id)
    assert user.mfa_enabled_at is not None and user.mfa_secret == secret
    hashes = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == staff.id)))
    assert len(hashes) == 10 and not hashes & set(codes)
    assert not any(c in client.get("/account/mfa").get_data(as_text=True) for c in codes)
    assert "剩余恢复码：10" in client.get("/account/mfa").get_data(as_text=True)
    assert client.get("/").status_code == 200  # this session counts as passed
    (event,) = audit_rows(db, "auth.mfa_enrolled")
    assert event.user_id == staff.id


def test_login_then_needs_a_code(app, db, client, staff, enrolled):
    secret, _ = enrolled
    resp = post_login(client, "zhangsan")
    assert resp.headers["Location"] == "/login/verify"
    assert client.get("/").status_code == 302  # nothing opens before the second step
    assert client.get("/api/v1/units").status_code == 401
    bad = client.post("/login/verify", data={"code": "123456"})
    assert bad.status_code == 401 and "动态验证码或恢复码不正确" in bad.get_data(as_text=True)
    assert audit_rows(db, "auth.login_failed")[-1].detail["reason"] == "bad second factor"
    ok = client.post("/login/verify", data={"code": code_at(secret)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    (row,) = open_sessions(db, staff)
    assert row.mfa_passed
    assert audit_rows(db, "auth.login")[-1].detail == {"channel": "web", "second_factor": "totp"}


def test_a_recovery_code_works_once(app, db, client, staff, enrolled):
    _, codes = enrolled
    post_login(client, "zhangsan")
    resp = client.post("/login/verify", data={"code": codes[0].upper().replace("-", " ")})
    assert resp.status_code == 302
    home = client.get("/")
    assert home.status_code == 200 and "还剩 9 个" in home.get_data(as_text=True)
    client.post("/logout")
    post_login(client, "zhangsan")
    again = client.post("/login/verify", data={"code": codes[0]})
    assert again.status_code == 401
    assert client.post("/login/verify", data={"code": codes[1]}).status_code == 302
    used = db.session.scalar(
        select(func.count()).where(RecoveryCode.user_id == staff.id, RecoveryCode.used_at.is_not(None))
    )
    assert used == 2


def test_the_second_step_expires(app, db, client, staff, enrolled):
    secret, _ = enrolled
    t0 = utcnow()
    with time_machine.travel(t0.isoformat() + "+00:00", tick=False):
        post_login(client, "zhangsan")
    later = t0 + timedelta(minutes=6)
    with time_machine.travel(later.isoformat() + "+00:00", tick=False):
        resp = client.post("/login/verify", data={"code": code_at(secret, later)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_guessing_codes_is_throttled(app, db, client, staff, enrolled):
    secret, _ = enrolled
    post_login(client, "zhangsan")
    for _ in range(5):
        assert client.post("/login/verify", data={"code": "000000"}).status_code == 401
    assert client.post("/login/verify", data={"code": code_at(secret)}).status_code == 429


def test_a_copied_cookie_before_the_second_step_opens_nothing(app, db, client, staff, enrolled):
    post_login(client, "zhangsan")
    with client.session_transaction() as sess:
        pending = sess["mfa_pending"]
    thief = app.test_client()
    with thief.session_transaction() as sess:
        sess["_user_id"] = pending  # as if it were a finished login
    assert thief.get("/").status_code == 302


def test_api_token_needs_the_otp(app, db, staff, enrolled):
    """authenticate(…, otp=…) — the token endpoint's second factor."""
    secret, codes = enrolled
    with pytest.raises(LoginRefused, match="otp"):
        authenticate("zhangsan", factories.PASSWORD, "10.0.0.5", now=utcnow())
    with pytest.raises(LoginRefused):
        authenticate("zhangsan", factories.PASSWORD, "10.0.0.5", now=utcnow(), otp="000000")
    assert (
        authenticate("zhangsan", factories.PASSWORD, "10.0.0.5", now=utcnow(), otp=code_at(secret)) == staff
    )
    assert authenticate("zhangsan", factories.PASSWORD, "10.0.0.5", now=utcnow(), otp=codes[3]) == staff
    reasons = [r.detail["reason"] for r in audit_rows(db, "auth.login_failed")]
    assert reasons == ["second factor missing", "bad second factor"]


def test_disabling_needs_a_current_code(app, db, client, login, staff, enrolled):
    secret, _ = enrolled
    post_login(client, "zhangsan")
    client.post("/login/verify", data={"code": code_at(secret)})
    resp = client.post("/account/mfa/disable", data={"code": "000000"})
    assert resp.status_code == 302
    assert db.session.get(User, staff.id).mfa_enabled_at is not None
    client.post("/account/mfa/disable", data={"code": code_at(secret)})
    db.session.expire_all()
    user = db.session.get(User, staff.id)
    assert user.mfa_enabled_at is None and user.mfa_secret is None
    assert db.session.scalar(select(func.count()).where(RecoveryCode.user_id == staff.id)) == 0
    assert [r.result for r in audit_rows(db, "auth.mfa_disabled")] == ["failure", "success"]
    client.post("/logout")
    assert post_login(client, "zhangsan").headers["Location"] == "/"


def test_security_admin_resets_someones_second_factor(
    app, db, client, login, tree, staff, secadmin, enrolled
):
    secret, _ = enrolled
    user_client = app.test_client()
    post_login(user_client, "zhangsan", ip="10.0.0.7")
    user_client.post("/login/verify", data={"code": code_at(secret)})
    login(secadmin)
    assert "zhangsan" in client.get("/admin/security/mfa").get_data(as_text=True)
    assert client.post(f"/admin/security/users/{staff.id}/mfa-reset").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, staff.id).mfa_enabled_at is None
    assert user_client.get("/").status_code == 302  # their sessions ended
    (event,) = audit_rows(db, "auth.mfa_reset")
    assert event.user_id == secadmin.id and event.object_id == str(staff.id)
    far = factories.user("far", tree.base3)
    db.session.commit()
    assert client.post(f"/admin/security/users/{far.id}/mfa-reset").status_code == 404


def test_required_roles_force_enrolment_before_anything_else(app, db, client, tree):
    """MFA_REQUIRED_ROLES (production: the three administrators) sends a user of those
    roles to the enrolment page first; the API answers 403 until then."""
    assert app.config["MFA_REQUIRED_ROLES"] == ()  # development/testing: password alone
    app.config["MFA_REQUIRED_ROLES"] = ("admin", "secadmin", "auditor")
    boss = factories.user("boss", tree.high, ["admin"])
    factories.user("plain", tree.high, ["staff"])
    db.session.commit()
    post_login(client, "boss")
    resp = client.get("/admin/units")
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/mfa/enrol"
    assert client.get("/api/v1/units").status_code == 403
    secret, _ = _enrol(client)
    assert client.get("/admin/units").status_code == 200
    client.post("/account/mfa/disable", data={"code": code_at(secret)})
    assert "不能关闭" in client.get("/account/mfa").get_data(as_text=True)
    db.session.expire_all()
    assert mfa.enrolled(db.session.get(User, boss.id))
    other = app.test_client()
    post_login(other, "plain")
    assert other.get("/").status_code == 200  # not a required role


def test_required_roles_is_a_setting(app, db, tree, secadmin):
    settings.save(secadmin, {"MFA_REQUIRED_ROLES": ["auditor"]}, now=utcnow())
    auditor = factories.user("aud", tree.high, ["auditor"])
    assert mfa.required(auditor) and not mfa.required(secadmin)


def test_production_defaults():
    from config import DevelopmentConfig, ProductionConfig

    assert set(ProductionConfig.MFA_REQUIRED_ROLES) == {"admin", "secadmin", "auditor"}
    assert DevelopmentConfig.MFA_REQUIRED_ROLES == ()


def test_totp_uses_utc_whatever_the_server_zone(app, db, staff, monkeypatch):
    """pyotp reads a naive datetime as local time; ours are naive UTC."""
    import time

    secret = mfa.new_secret()
    now = utcnow()
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert mfa.totp_ok(secret, code_at(secret, now), now=now)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert not mfa.totp_ok(secret, code_at(secret, now + timedelta(minutes=5)), now=now)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
