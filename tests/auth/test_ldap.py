"""Directory login against a real OpenLDAP server (.ci/ldap.sh, tests/auth/ldap/court.ldif).

Skipped with a one-line reason unless TEST_LDAP_URL points at it; with REQUIRE_LDAP=1 a
missing or silent server fails instead. The down and slow directories are a closed port
and a socket this test opens that accepts and never answers."""

from __future__ import annotations

import os
import socket
import time

import pytest
from sqlalchemy import func, select

from app.auth import directory
from app.auth.models import LoginAttempt
from app.auth.services import GENERIC_FAILURE
from app.journal import JournalEntry
from app.org.models import User, UserRole
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows, post_login
from tests.auth.test_login_statements import AUDIT_CHAIN_LOCK
from tests.deploy.test_check import production_app, run_check

LDAP_URL = os.environ.get("TEST_LDAP_URL", "")
PASSWORD = "Dir@2026pass"
BASE = "dc=court,dc=test"
GROUPS = f"cn=qj-leaders,ou=groups,{BASE}=leader; CN=QJ-Staff, ou=groups,{BASE}=staff"


def _settings(url: str, **over) -> dict:
    return {
        "LDAP_URL": url,
        "LDAP_BIND_DN": f"cn=qj-service,{BASE}",
        "LDAP_BIND_PASSWORD": "svc-Secret-2026",
        "LDAP_USER_BASE": f"ou=people,{BASE}",
        "LDAP_USER_FILTER": "(&(objectClass=inetOrgPerson)(uid={username}))",
        "LDAP_UNIT_ATTRIBUTE": "departmentNumber",
        "LDAP_DISPLAY_NAME_ATTRIBUTE": "cn",
        "LDAP_GROUP_ROLES": GROUPS,
        "LDAP_TIMEOUT": "1",
        **over,
    }


@pytest.fixture(scope="session")
def ldap_url() -> str:
    """The test slapd, answering the service account's bind (skip or fail otherwise)."""
    reason = ""
    if not LDAP_URL:
        reason = "OpenLDAP 不可用：未设置 TEST_LDAP_URL（bash .ci/ldap.sh 启动测试目录）"
    else:
        try:
            directory.probe(directory.load_settings(_settings(LDAP_URL)))
        except directory.DirectoryUnavailable as exc:
            reason = f"OpenLDAP 不可用：{LDAP_URL} {exc.reason}"
    if reason:
        if os.environ.get("REQUIRE_LDAP") == "1":
            pytest.fail(reason + "（REQUIRE_LDAP=1）")
        pytest.skip(reason)
    return LDAP_URL


@pytest.fixture
def ldap_on(app, tree, ldap_url):
    app.config.update(_settings(ldap_url))
    return app


def _accounts(db, username: str) -> list[User]:
    db.session.expire_all()
    return list(db.session.scalars(select(User).where(User.username == username)))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_first_login_creates_the_account_with_unit_and_role(ldap_on, db, tree, count_queries, backend):
    """赵六 (group qj-leaders, departmentNumber 甲一区法院 — an alias) logs in: a directory
    account in 甲一区人民法院 with the role 院领导 is created once, journaled and audited."""
    client = ldap_on.test_client()
    with count_queries() as first:
        resp = post_login(client, "zhaoliu", PASSWORD)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    # the local login's 8, the unit, the name check, the account, its role and its journal line,
    # the audit row of the creation (PostgreSQL: the audit chain's lock)
    assert len(first) <= 14 + AUDIT_CHAIN_LOCK[backend], "\n".join(first)
    (user,) = _accounts(db, "zhaoliu")
    assert (user.auth_source, user.unit_id, user.roles, user.display_name) == (
        "ldap",
        tree.base1.id,
        {"leader"},
        "赵六",
    )
    assert (
        user.directory_dn == f"uid=zhaoliu,ou=people,{BASE}"
        and user.password_hash == directory.NO_PASSWORD_HASH
    )
    assert client.get("/").status_code == 200
    with count_queries() as later:
        assert post_login(ldap_on.test_client(), "ZhaoLiu", PASSWORD).status_code == 302
    assert len(later) <= 10 + AUDIT_CHAIN_LOCK[backend], "\n".join(later)
    assert len(_accounts(db, "zhaoliu")) == 1
    assert [r.detail["roles"] for r in audit_rows(db, "user.directory_create")] == [["leader"]]
    assert (
        db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.action == "user.create")
        )
        == 1
    )


def test_a_later_login_brings_unit_role_and_name_back_from_the_directory(ldap_on, db, tree):
    """钱七's unit, roles and name changed by hand are the directory's again at the next
    login, journaled (before/after) with the role change audited; no password anywhere."""
    assert post_login(ldap_on.test_client(), "qianqi", PASSWORD).status_code == 302
    (user,) = _accounts(db, "qianqi")
    assert (user.unit_id, user.roles) == (tree.inter2.id, {"staff"})
    user.unit_id, user.display_name = tree.base3.id, "改过的名字"
    user.role_rows = [UserRole(role="viewer")]
    db.session.commit()
    assert post_login(ldap_on.test_client(), "qianqi", PASSWORD).status_code == 302
    (user,) = _accounts(db, "qianqi")
    assert (user.unit_id, user.roles, user.display_name) == (tree.inter2.id, {"staff"}, "钱七")
    (line,) = db.session.scalars(
        select(JournalEntry).where(JournalEntry.action == "user.directory_sync")
    ).all()
    assert line.before["roles"] == ["viewer"] and line.after["roles"] == ["staff"]
    assert (line.before["unit_id"], line.after["unit_id"]) == (tree.base3.id, tree.inter2.id)
    assert PASSWORD not in str(line.before) + str(line.after)
    assert audit_rows(db, "user.roles")[-1].detail["by"] == "directory"
    assert post_login(ldap_on.test_client(), "qianqi", PASSWORD).status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(JournalEntry).where(JournalEntry.action == "user.directory_sync")
        )
        == 1
    )


def test_a_wrong_password_is_refused_like_a_local_one_and_throttled(ldap_on, db, tree):
    """The refusal is the local one word for word, each failure counts in the throttle,
    the sixth try is held back, nothing is created, and no password reaches the audit log."""
    for _ in range(5):
        resp = post_login(ldap_on.test_client(), "zhaoliu", "Wrong@2026pass")
        assert resp.status_code == 401 and GENERIC_FAILURE in resp.get_data(as_text=True)
    assert post_login(ldap_on.test_client(), "zhaoliu", PASSWORD).status_code == 429
    assert _accounts(db, "zhaoliu") == []
    fails = db.session.scalars(select(LoginAttempt).where(LoginAttempt.username == "zhaoliu")).all()
    assert len(fails) == 5 and not any(a.success for a in fails)
    rows = audit_rows(db, "auth.login_failed")
    assert {r.detail["reason"] for r in rows} == {"wrong password", "locked"}
    assert all("Wrong@2026pass" not in str(r.detail) for r in rows)


def test_a_user_in_no_mapped_group_is_refused_and_nothing_is_created(ldap_on, db):
    """孙八's password is right but no group maps to a role: 403, the message says what is
    missing, no account is created."""
    resp = post_login(ldap_on.test_client(), "sunba", PASSWORD)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 403 and "不在任何已映射角色的目录组中" in body
    api = ldap_on.test_client().post("/api/v1/auth/token", json={"username": "sunba", "password": PASSWORD})
    assert api.status_code == 403 and "不在任何已映射角色的目录组中" in api.get_json()["error"]
    assert _accounts(db, "sunba") == []


def test_an_unknown_unit_is_refused_and_named(ldap_on, db):
    """A directory unit the system does not know is named in the refusal; nothing is created."""
    ldap_on.config["LDAP_UNIT_ATTRIBUTE"] = "sn"  # "zhao": no such unit
    resp = post_login(ldap_on.test_client(), "zhaoliu", PASSWORD)
    assert resp.status_code == 403 and "目录中的单位“zhao”在本系统中找不到" in resp.get_data(as_text=True)
    assert _accounts(db, "zhaoliu") == []


@pytest.mark.parametrize("name", ["*", ")(uid=*", "zhao*", "*)(uid=*))(|(uid=*", "zhaoliu)(|(uid=*"])
def test_filter_injection_in_the_username_is_refused(ldap_on, db, name):
    """LDAP filter syntax in the username never reaches the directory: the generic refusal."""
    resp = post_login(ldap_on.test_client(), name, PASSWORD)
    assert resp.status_code == 401 and GENERIC_FAILURE in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.auth_source == "ldap")) == 0


def test_an_empty_password_never_binds(ldap_url):
    """An empty password is an unauthenticated bind that LDAP servers accept: refused first;
    an escaped `*` matches nobody."""
    cfg = directory.load_settings(_settings(ldap_url))
    assert directory.verify(cfg, "zhaoliu", "") == (None, "empty password")
    assert directory.verify(cfg, "zhaoliu", PASSWORD)[1] == "ok"


def test_directory_down_answers_clearly_and_the_local_admin_still_logs_in(ldap_on, db, tree):
    """A closed port: the directory account gets the 目录服务暂时无法连接 message (503, not
    500, not counted as a wrong password); the local administrator logs in."""
    factories.user("boss", tree.high, ["admin"])
    db.session.commit()
    ldap_on.config["LDAP_URL"] = f"ldap://127.0.0.1:{_closed_port()}"
    resp = post_login(ldap_on.test_client(), "zhaoliu", PASSWORD)
    body = resp.get_data(as_text=True)
    assert (
        resp.status_code == 503 and "目录服务暂时无法连接（连接被拒绝），请稍后再试；本地账号仍可登录" in body
    )
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    assert post_login(ldap_on.test_client(), "boss").status_code == 302
    api = ldap_on.test_client().post("/api/v1/auth/token", json={"username": "zhaoliu", "password": PASSWORD})
    assert api.status_code == 503 and "本地账号仍可登录" in api.get_json()["error"]


def test_a_directory_that_never_answers_times_out(ldap_on, db, tree):
    """A socket that accepts and never answers: the message comes within LDAP_TIMEOUT (1 s)
    plus a margin, the login page still answers, the local administrator still logs in."""
    factories.user("boss", tree.high, ["admin"])
    db.session.commit()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads
        ldap_on.config["LDAP_URL"] = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        resp = post_login(ldap_on.test_client(), "zhaoliu", PASSWORD)
        elapsed = time.monotonic() - started
        assert resp.status_code == 503 and "目录服务暂时无法连接（超时未应答）" in resp.get_data(as_text=True)
        assert elapsed < 1 + 3, elapsed  # measured 1.06 s; ldap3 without a timeout waits for ever
        assert ldap_on.test_client().get("/login").status_code == 200
        assert post_login(ldap_on.test_client(), "boss").status_code == 302


def test_a_directory_account_has_no_local_password(ldap_on, db):
    """The password page says where to change the password and refuses a change."""
    client = ldap_on.test_client()
    assert post_login(client, "zhaoliu", PASSWORD).status_code == 302
    page = client.get("/account/password").get_data(as_text=True)
    assert "由法院目录服务（LDAP）认证" in page and 'name="new_password"' not in page
    data = {"old_password": PASSWORD, "new_password": "New@2026pass", "confirm": "New@2026pass"}
    assert client.post("/account/password", data=data).status_code == 400
    assert _accounts(db, "zhaoliu")[0].password_hash == directory.NO_PASSWORD_HASH


def test_with_ldap_off_nothing_changes(app, db, tree):
    """No LDAP_URL: local accounts log in as before, an unknown name gets the generic
    refusal, and an account made by the directory earlier cannot log in."""
    factories.user("boss", tree.high, ["admin"])
    ldap_user = factories.user("zhaoliu", tree.base1, ["leader"])
    ldap_user.auth_source = "ldap"
    db.session.commit()
    assert post_login(app.test_client(), "boss").status_code == 302
    for name in ("nobody", "zhaoliu"):
        resp = post_login(app.test_client(), name)
        assert resp.status_code == 401 and GENERIC_FAILURE in resp.get_data(as_text=True)


def test_second_factor_and_api_token_work_as_for_local_accounts(ldap_on, db):
    """A directory account with a second factor is sent to the code step; the API's token
    endpoint takes the directory password too."""
    assert post_login(ldap_on.test_client(), "zhaoliu", PASSWORD).status_code == 302
    (user,) = _accounts(db, "zhaoliu")
    user.mfa_secret, user.mfa_enabled_at = "JBSWY3DPEHPK3PXP", utcnow()
    db.session.commit()
    resp = post_login(ldap_on.test_client(), "zhaoliu", PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/verify")
    api = ldap_on.test_client().post("/api/v1/auth/token", json={"username": "qianqi", "password": PASSWORD})
    assert api.status_code == 200 and api.get_json()["token"]


def test_check_reports_the_directory(app, database_url, tmp_path, ldap_url):
    """`flask check` binds the service account: passes with the right password, fails
    naming LDAP_BIND_DN with a wrong one."""
    good = production_app(database_url, tmp_path / "up", **_settings(ldap_url))
    result = run_check(good)
    assert "[通过] 目录登录（LDAP）已启用：ldap://127.0.0.1:3389，映射 2 个目录组" in result.output
    bad = production_app(database_url, tmp_path / "up", **_settings(ldap_url, LDAP_BIND_PASSWORD="nope"))
    result = run_check(bad)
    assert result.exit_code == 1 and "拒绝了服务账号 LDAP_BIND_DN" in result.output


def test_a_deactivated_directory_account_stays_out(ldap_on, db):
    """The local deactivation wins over the directory: the generic refusal, nothing refreshed."""
    assert post_login(ldap_on.test_client(), "zhaoliu", PASSWORD).status_code == 302
    (user,) = _accounts(db, "zhaoliu")
    user.active, user.display_name = False, "停用前"
    db.session.commit()
    resp = post_login(ldap_on.test_client(), "zhaoliu", PASSWORD)
    assert resp.status_code == 401 and GENERIC_FAILURE in resp.get_data(as_text=True)
    assert _accounts(db, "zhaoliu")[0].display_name == "停用前"
    assert audit_rows(db, "auth.login_failed")[-1].detail["reason"] == "inactive"
