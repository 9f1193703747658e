"""The 安全管理员's settings page: values over the config, checked, journaled, audited."""

from __future__ import annotations

from sqlalchemy import select

from app.journal import JournalEntry
from app.security import settings
from tests import factories
from tests.auth.helpers import audit_rows


def _form(**over):
    data = {key: str(settings.get(key)) for key, spec in settings.SETTINGS.items() if spec.kind == "int"}
    data["MFA_REQUIRED_ROLES"] = []
    data.update(over)
    return data


def test_settings_page_shows_and_saves_the_values(app, db, client, login, secadmin):
    login(secadmin)
    page = client.get("/admin/security").get_data(as_text=True)
    assert "密码有效期（天）" in page and 'value="90"' in page and "必须启用双因素认证的角色" in page
    resp = client.post(
        "/admin/security", data=_form(PASSWORD_EXPIRY_DAYS="60", MFA_REQUIRED_ROLES=["secadmin", "auditor"])
    )
    assert resp.status_code == 302
    assert settings.get("PASSWORD_EXPIRY_DAYS") == 60
    assert settings.get("MFA_REQUIRED_ROLES") == ("secadmin", "auditor")
    assert settings.get("SESSION_IDLE_MINUTES") == 30  # unchanged: still the config's
    (event,) = audit_rows(db, "security.settings")
    assert event.user_id == secadmin.id
    assert event.detail["after"] == {
        "PASSWORD_EXPIRY_DAYS": 60,
        "MFA_REQUIRED_ROLES": ["secadmin", "auditor"],
    }
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.action == "security.settings"))
    assert entry.before["PASSWORD_EXPIRY_DAYS"] == 90


def test_out_of_range_values_are_refused(app, db, client, login, secadmin):
    login(secadmin)
    resp = client.post("/admin/security", data=_form(SESSION_IDLE_MINUTES="0"))
    assert resp.status_code == 400 and "5–240" in resp.get_data(as_text=True)
    resp = client.post("/admin/security", data=_form(LOGIN_MAX_FAILURES="abc"))
    assert resp.status_code == 400
    resp = client.post("/admin/security", data=_form(MFA_REQUIRED_ROLES=["root"]))
    assert resp.status_code == 400
    assert settings.get("SESSION_IDLE_MINUTES") == 30 and audit_rows(db, "security.settings") == []


def test_only_the_security_admin(app, db, client, login, tree):
    for role in ("admin", "auditor", "reviewer"):
        login(factories.user(f"u_{role}", tree.high, [role]))
        assert client.get("/admin/security").status_code == 403
        assert client.post("/admin/security", data=_form(PASSWORD_EXPIRY_DAYS="0")).status_code == 403
        client.post("/logout")
    assert settings.get("PASSWORD_EXPIRY_DAYS") == 90


def test_navigation_links(app, db, client, login, staff, secadmin):
    page = login(staff).get("/").get_data(as_text=True)
    assert "/account/tokens" in page and "/account/mfa" in page and "/admin/security" not in page
    client.post("/logout")
    assert 'href="/admin/security"' in login(secadmin).get("/").get_data(as_text=True)
