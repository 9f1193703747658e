"""The password policy and password expiry (身份鉴别)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from app.auth import passwords
from app.errors import ServiceError
from app.org import services
from app.org.importer import _user_row
from app.security import settings
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import post_login


def _refused(password: str, username: str = "zhangsan") -> str:
    with pytest.raises(ServiceError) as err:
        passwords.check(password, username)
    return err.value.message


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1$", "至少 8 位"),
        ("Aa1" + "x" * 126, "不能超过 128 位"),
        ("password1", "至少三类，当前只有：小写字母、数字"),
        ("aaaaaaa1", "至少三类，当前只有：小写字母、数字"),
        ("ABCDEFGH", "当前只有：大写字母"),
        ("12345678!", "当前只有：数字、符号"),
        ("Zhangsan@2026", "不能包含用户名"),
        ("xxZHANGSANxx1", "不能包含用户名"),
        ("Password1", "常见密码"),
        ("PASSWORD1!", "常见密码"),
        ("Aaaaaaa1", "常见密码"),
        ("P@ssw0rd", "常见密码"),
    ],
)
def test_each_rule_has_its_own_message(password, message):
    assert message in _refused(password)


@pytest.mark.parametrize(
    "password", ["Demo@2026", factories.PASSWORD, "Temp2026x", "长城Great2026", "kx9#mQ2v"]
)
def test_good_passwords_pass(password):
    passwords.check(password, "zhangsan")


def test_issue_examples_are_refused():
    """`password1` and `aaaaaaa1` are accepted today (issue #10): both must be refused,
    by the class rule and — in any case mix that passes it — by the common list."""
    for word in ("password1", "aaaaaaa1"):
        _refused(word)
        assert word in passwords.common_passwords()
        assert "常见密码" in _refused(word.capitalize())


def test_the_bundled_list():
    """A real list: ≥ 10,000 entries, lowercase, with its source and licence in the header."""
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"123456", "password", "qwerty123", "#1bitch"} <= common  # '#' lines after the header count
    assert all(p == p.lower() for p in common)
    head = passwords.COMMON_FILE.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "Source:" in head and "BSD-3-Clause" in head and "Royce Williams" in head
    assert not any(line.startswith("Source") for line in common)


def test_a_short_username_is_not_looked_for():
    """A two-letter username ('li') is not a rule of its own: too many words contain it."""
    passwords.check("Police#2026", "li")
    assert "用户名" in _refused("Police#2026", "police")


def test_every_way_to_set_a_password_passes_the_username(app, db, tree):
    """create_user, reset_password, change_own_password and the import all apply the
    username rule (the callers pass it)."""
    with pytest.raises(ServiceError, match="用户名"):
        factories.user("wangwu", tree.base1, password="Wangwu@2026")
    user = factories.user("wangwu", tree.base1)
    sec = factories.user("sec", tree.high, ["secadmin"])
    with pytest.raises(ServiceError, match="用户名"):
        services.reset_password(sec, user, "WANGWU#2026x", now=utcnow())
    with pytest.raises(ServiceError, match="用户名"):
        services.change_own_password(user, factories.PASSWORD, "xWangWu2026", now=utcnow())
    admin = factories.user("boss", tree.high, ["admin"])
    row = {"username": "lisi01", "display_name": "李四", "unit": tree.base1.name, "roles": ""}
    with pytest.raises(ServiceError, match="用户名"):
        _user_row(admin, {**row, "password": "Lisi01@2026"}, utcnow())
    with pytest.raises(ServiceError, match="常见密码"):
        _user_row(admin, {**row, "password": "Password1"}, utcnow())


def test_password_changed_at_is_set_whenever_a_password_is_set(app, db, tree):
    t0 = utcnow().replace(microsecond=0)
    user = services.create_user(
        None,
        username="wangwu",
        display_name="王五",
        unit=tree.base1,
        roles=["staff"],
        password="Demo@2026",
        now=t0,
    )
    assert user.password_changed_at == t0
    sec = factories.user("sec", tree.high, ["secadmin"])
    services.reset_password(sec, user, "Temp@2026x", now=t0 + timedelta(days=1))
    assert user.password_changed_at == t0 + timedelta(days=1)
    services.change_own_password(user, "Temp@2026x", "Mine@2026x", now=t0 + timedelta(days=2))
    assert user.password_changed_at == t0 + timedelta(days=2)


# ---------------------------------------------------------------- expiry


def test_expiry_default_and_off(app, db, tree):
    assert app.config["PASSWORD_EXPIRY_DAYS"] == 90
    user = factories.user("wangwu", tree.base1)
    now = user.password_changed_at
    assert not passwords.expired(user, now=now + timedelta(days=90))
    assert passwords.expired(user, now=now + timedelta(days=90, seconds=1))
    user.password_changed_at = None  # set before the policy: counted from the account's creation
    assert passwords.expired(user, now=user.created_at + timedelta(days=91))
    app.config["PASSWORD_EXPIRY_DAYS"] = 0
    assert not passwords.expired(user, now=now + timedelta(days=3650))


def test_expired_password_forces_a_change_at_next_login(app, db, client, staff):
    """Past PASSWORD_EXPIRY_DAYS (the 安全管理员's value over the config's) the next login
    leads to the password page, and nothing else opens until it is changed."""
    sec = factories.user("sec", staff.unit, ["secadmin"])
    settings.save(sec, {"PASSWORD_EXPIRY_DAYS": "30"}, now=utcnow())
    db.session.commit()
    later = utcnow() + timedelta(days=31)
    with time_machine.travel(later.isoformat() + "+00:00", tick=False):
        assert post_login(client, "zhangsan").status_code == 302
        page = client.get("/")
        assert page.headers["Location"] == "/account/password"
        assert "30 天" in client.get("/account/password").get_data(as_text=True)
        api = client.get("/api/v1/units")
        assert api.status_code == 403 and "密码" in api.get_json()["error"]
        resp = client.post(
            "/account/password",
            data={"old_password": factories.PASSWORD, "new_password": "Fresh@2026", "confirm": "Fresh@2026"},
        )
        assert resp.status_code == 302
        assert client.get("/").status_code == 200


def test_not_expired_within_the_period(app, db, client, staff):
    later = utcnow() + timedelta(days=89)
    with time_machine.travel(later.isoformat() + "+00:00", tick=False):
        post_login(client, "zhangsan")
        assert client.get("/").status_code == 200
