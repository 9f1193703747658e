"""`flask audit verify` and `flask audit purge --before DATE` from the command line."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.audit import services
from app.audit.models import AuditEntry
from app.timeutil import utcnow
from tests.audit.conftest import actions, append, sql


def test_verify_prints_the_count_and_exits_0_on_a_good_chain(app, db):
    append(4)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "共 4 条记录，哈希链完整" in result.output
    assert services.verify().ok  # the check recorded itself and the chain still holds
    assert actions()[-1] == "audit.verify"


def test_verify_names_the_first_broken_link_and_exits_1(app, db):
    ids = append(5)
    sql("UPDATE audit_log SET username = 'nobody' WHERE id = :id", id=ids[3])
    sql("DELETE FROM audit_log WHERE id = :id", id=ids[1])
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"第一个断点：第 {ids[2]} 号记录" in result.output and "删除" in result.output


def test_purge_refuses_young_rows_with_a_chinese_message_and_records_the_attempt(app, db):
    append(3, start=utcnow() - timedelta(days=30))
    day = (utcnow() - timedelta(days=100)).date().isoformat()
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--before", day])
    assert result.exit_code == 1
    assert "至少保留 180 天" in result.output and "网络安全法第二十一条" in result.output
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "write"))
        == 3
    )
    attempt = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.purge")).one()
    assert attempt.result == "failure" and attempt.detail["before"].startswith(day)
    assert services.verify().ok


def test_purge_of_old_rows_keeps_the_chain_verifiable(app, db):
    append(3, start=utcnow() - timedelta(days=400))
    append(2, start=utcnow() - timedelta(days=5))
    day = (utcnow() - timedelta(days=200)).date().isoformat()
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--before", day])
    assert result.exit_code == 0, result.output
    assert "已删除 3 条" in result.output
    verify = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0 and "共 3 条记录，哈希链完整" in verify.output  # 2 kept + the purge


def test_purge_refuses_a_bad_date(app, db):
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--before", "2026-02-30"])
    assert result.exit_code == 1 and "无效" in result.output
