"""`flask security report`: each level-3 control with the live setting as evidence —
未满足 where the testing configuration falls short, 满足 once the setting is right —
and a DOCX that python-docx reads back holding the same lines."""

from __future__ import annotations

import secrets

import pytest
from docx import Document
from sqlalchemy import select

from app.audit import services as audit
from app.org.models import User
from app.security import settings
from app.security.report import MET, UNMET, build
from app.seed.demo import DEMO_PASSWORD
from app.timeutil import utcnow
from tests import factories
from tests.audit.conftest import append, sql


def _items(report) -> dict[str, str]:
    return {item.name: item.status for control in report.controls for item in control.items}


def _controls(report) -> dict[str, str]:
    return {control.title: control.status for control in report.controls}


def _harden(app, db, tree) -> None:
    """What a court's production installation sets."""
    app.config.update(
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SECURE=True,
        HSTS=True,
        PASSWORD_HASH_METHOD="scrypt",
        SECRET_KEY=secrets.token_hex(32),
    )
    sec = factories.user("sec", tree.high, ["secadmin"])
    factories.user("sys", tree.high, ["admin"])
    factories.user("aud", tree.high, ["auditor"])
    settings.save(sec, {"MFA_REQUIRED_ROLES": ["admin", "secadmin", "auditor"]}, now=utcnow())
    db.session.commit()


SHORT_ON_TESTING = {
    "鉴别信息传输防窃听": "SESSION_COOKIE_SECURE = False",
    "双因素鉴别（管理用户）": "MFA_REQUIRED_ROLES = （无）",
    "管理用户权限分离（三员分立）": "尚未设置",
    "强制 HTTPS（HSTS）": "（未发送）",
    "口令存储": "pbkdf2:sha256:1000",
    "本地数据备份与恢复": "没有任何一次备份记录",
}


def test_the_testing_configuration_is_short_where_it_is_short(app, db, tree):
    report = build(now=utcnow())
    items = _items(report)
    text = report.text()
    for name, evidence in SHORT_ON_TESTING.items():
        assert items[name] == UNMET, name
        line = next(line for line in text.splitlines() if f"] {name}：" in line)
        assert line.strip().startswith("[未满足]") and evidence in line, line
    assert set(_controls(report)) == {
        "身份鉴别", "访问控制", "安全审计", "入侵防范", "数据完整性", "数据保密性", "数据备份恢复", "剩余信息保护", "个人信息保护",
    }  # fmt: skip
    assert items["内容安全策略（CSP）"] == MET and "frame-ancestors 'none'" in text
    assert items["审计记录防篡改"] == MET


def test_each_short_setting_is_met_once_set(app, db, tree):
    _harden(app, db, tree)
    report = build(now=utcnow())
    items = _items(report)
    for name in SHORT_ON_TESTING:
        if name != "本地数据备份与恢复":
            assert items[name] == MET, (name, report.text())
    assert _controls(report)["身份鉴别"] == MET and _controls(report)["访问控制"] == MET
    assert _controls(report)["数据备份恢复"] == UNMET  # no backup taken yet: said plainly
    assert "Strict-Transport-Security：max-age=" in report.text()


@pytest.mark.parametrize(
    ("change", "item"),
    [
        (lambda app, sec: settings.save(sec, {"PASSWORD_EXPIRY_DAYS": "0"}, now=utcnow()), "口令定期更换"),
        (
            lambda app, sec: settings.save(sec, {"SESSION_IDLE_MINUTES": "120"}, now=utcnow()),
            "登录连接超时自动退出",
        ),
        (
            lambda app, sec: settings.save(sec, {"MFA_REQUIRED_ROLES": ["admin"]}, now=utcnow()),
            "双因素鉴别（管理用户）",
        ),
        (lambda app, sec: app.config.update(SECRET_KEY="dev-secret-key-change-me"), "会话签名密钥"),
        (lambda app, sec: app.config.update(DEBUG=True), "调试模式"),
    ],
)
def test_a_setting_pulled_back_shows_as_unmet(app, db, tree, change, item):
    _harden(app, db, tree)
    sec = db.session.scalar(select(User).where(User.username == "sec"))
    change(app, sec)
    db.session.commit()
    assert _items(build(now=utcnow()))[item] == UNMET


def test_demo_accounts_with_the_public_password_are_unmet(app, db, tree):
    factories.user("admin", tree.high, ["admin"], password=DEMO_PASSWORD)
    db.session.commit()
    items = _items(build(now=utcnow()))
    assert items["默认账户与默认口令"] == UNMET


def test_a_broken_audit_chain_is_unmet(app, db, tree):
    ids = append(3)
    sql("UPDATE audit_log SET result = 'denied' WHERE id = :id", id=ids[1])
    report = build(now=utcnow())
    assert _controls(report)["安全审计"] == UNMET
    assert f"第 {ids[1]} 号记录处断链" in report.text()


def test_the_command_prints_the_report_and_writes_a_docx_with_the_same_lines(app, db, tree, tmp_path):
    out = tmp_path / "等保报告.docx"
    result = app.test_cli_runner().invoke(args=["security", "report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = [line.strip() for line in result.output.splitlines() if line.strip()]
    paragraphs = [p.text.strip() for p in Document(str(out)).paragraphs if p.text.strip()]
    assert printed[:-1] == paragraphs  # the last printed line says where the file went
    assert any(line.startswith("[未满足]") for line in paragraphs)
    assert str(out) in printed[-1]
    assert audit.verify().ok


def test_the_backup_item_follows_the_backups_taken(app, db, tree, tmp_path):
    """A fresh successful backup meets it; one older than 48 hours, a failed one or one
    whose file is gone does not, and the evidence says which."""
    from datetime import timedelta

    from sqlalchemy import delete, update

    from app.backup.services import create_backup, record_cli_run
    from app.reminders.models import SweepRun

    def item():
        report = build(now=utcnow())
        return next(i for c in report.controls for i in c.items if i.name == "本地数据备份与恢复")

    made = create_backup(tmp_path / "b.tar.gz", now=utcnow())
    started = utcnow()
    record_cli_run(started, {"path": str(made.path), "bytes": made.size}, [])
    got = item()
    assert got.status == MET and str(made.path) in got.evidence
    record_cli_run(started + timedelta(seconds=1), None, ["磁盘已满"])
    got = item()
    assert got.status == UNMET and "失败：磁盘已满" in got.evidence
    record_cli_run(started + timedelta(seconds=2), {"path": str(made.path), "bytes": made.size}, [])
    made.path.unlink()
    got = item()
    assert got.status == UNMET and "已不在原处" in got.evidence
    old = tmp_path / "old.tar.gz"
    create_backup(old, now=utcnow())
    record_cli_run(utcnow() - timedelta(hours=72), {"path": str(old), "bytes": 1}, [])
    db.session.execute(  # only the old one left, finished three days ago
        delete(SweepRun).where(SweepRun.job == "backup", SweepRun.started_at > utcnow() - timedelta(hours=1))
    )
    db.session.execute(
        update(SweepRun).where(SweepRun.job == "backup").values(finished_at=SweepRun.started_at)
    )
    db.session.commit()
    got = item()
    assert got.status == UNMET and "超过 48 小时" in got.evidence
