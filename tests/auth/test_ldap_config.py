"""The directory login's settings (LDAP_*): parsed and checked at start-up and by
`flask check`, each problem named in Chinese. No directory server needed."""

from __future__ import annotations

import os
import socket

import pytest

from app import create_app
from app.auth.directory import DirectoryConfigError, load_settings, parse_group_roles
from tests.deploy.test_check import cli_check, production_app, run_check

GOOD = {
    "LDAP_URL": "ldap://ldap.court.cn:389",
    "LDAP_USER_BASE": "ou=people,dc=court,dc=cn",
    "LDAP_USER_FILTER": "(uid={username})",
    "LDAP_UNIT_ATTRIBUTE": "departmentNumber",
    "LDAP_GROUP_ROLES": "cn=qj-leaders,ou=groups,dc=court,dc=cn=leader",
}


def test_group_roles_are_dn_equals_role_pairs():
    """`;` or new lines between pairs, the role after the last `=`, DNs compared without
    case or spaces after commas."""
    text = "CN=QJ-Leaders, OU=Groups,dc=court,dc=cn=leader;\n cn=qj-staff,ou=groups,dc=court,dc=cn = staff\n"
    assert parse_group_roles(text) == {
        "cn=qj-leaders,ou=groups,dc=court,dc=cn": "leader",
        "cn=qj-staff,ou=groups,dc=court,dc=cn": "staff",
    }


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "LDAP_GROUP_ROLES 为空"),
        ("leader", "不是“组DN=角色”的形式"),
        ("cn=qj,dc=court,dc=cn=boss", "“boss”不是已知角色"),
        ("cn=qj,dc=court,dc=cn=admin", "“admin”是三员角色，只能由本地账号担任"),
        ("not a dn=leader", "“not a dn”不是有效的组 DN"),
    ],
)
def test_bad_group_roles_are_named(text, needle):
    with pytest.raises(DirectoryConfigError) as caught:
        parse_group_roles(text)
    assert needle in str(caught.value)


def test_settings_off_good_and_every_problem_at_once():
    """No LDAP_URL: off. A good set parses (timeout 3 s by default). A bad one names
    each problem in one message."""
    assert load_settings({"LDAP_URL": ""}) is None
    cfg = load_settings(GOOD)
    assert (cfg.timeout, cfg.name_attribute, cfg.starttls) == (3, "cn", False)
    bad = {**GOOD, "LDAP_URL": "http://x", "LDAP_USER_FILTER": "uid=*", "LDAP_TIMEOUT": "2.5"}
    with pytest.raises(DirectoryConfigError) as caught:
        load_settings(bad)
    message = str(caught.value)
    for needle in ("LDAP_URL “http://x”", "LDAP_USER_FILTER 须是含 {username}", "LDAP_TIMEOUT 须为 1 到 60"):
        assert needle in message
    with pytest.raises(DirectoryConfigError, match="LDAP_STARTTLS 只用于 ldap://"):
        load_settings({**GOOD, "LDAP_URL": "ldaps://ldap.court.cn", "LDAP_STARTTLS": "1"})


def test_the_app_refuses_to_start_with_bad_settings():
    with pytest.raises(RuntimeError, match="LDAP_GROUP_ROLES 有误"):
        create_app("testing", **{**GOOD, "LDAP_GROUP_ROLES": "cn=x,dc=cn=superuser"})


def test_flask_check_names_the_bad_setting():
    """The command line (wsgi.py, as the systemd unit runs `flask check`) prints one
    Chinese line and exits 1."""
    env = {**os.environ, **GOOD, "LDAP_GROUP_ROLES": "qj-leaders=leader", "APP_CONFIG": "testing"}
    proc = cli_check(env)
    assert proc.returncode == 1
    assert (
        "强基通未启动：目录登录（LDAP）配置有误：LDAP_GROUP_ROLES 有误：“qj-leaders”不是有效的组 DN"
        in proc.stderr
    )


def test_check_warns_when_the_directory_does_not_answer(app, database_url, tmp_path):
    """A directory that is down is a warning (local accounts still log in), not a failure."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prod = production_app(database_url, tmp_path / "up", **{**GOOD, "LDAP_URL": f"ldap://127.0.0.1:{port}"})
    result = run_check(prod)
    assert result.exit_code == 0, result.output
    assert f"[警告] 目录服务 ldap://127.0.0.1:{port} 当前无法连接（连接被拒绝）" in result.output
