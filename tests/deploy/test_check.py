"""`flask --app wsgi check`: a good production configuration passes; each bad one is a
Chinese line and exit code 1 (SQLite and PostgreSQL where a database is involved)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app import create_app
from app.background.models import SchedulerLock
from app.extensions import db as _db
from app.timeutil import utcnow

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k" * 16 + "3f9a0c2e7b1d4e5f6a7b8c9d0e1f2a3b"


def production_app(url: str, upload_dir: Path, **overrides):
    config = {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(upload_dir)}
    config.update(overrides)
    return create_app("production", **config)


def run_check(app, *args: str):
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["check", *args])
        _db.session.remove()
        _db.engine.dispose()
    return result


def cli_check(env: dict) -> subprocess.CompletedProcess:
    """`flask --app wsgi check` in a child process with this environment."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def prod(app, database_url, tmp_path):
    """A production app on the test database (the `app` fixture empties PostgreSQL)."""
    return production_app(database_url, tmp_path / "uploads")


def test_good_configuration_passes_and_says_what_it_checked(prod):
    result = run_check(prod)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for needle in (
        "APP_CONFIG=production",
        "SECRET_KEY 已设置",
        "上传目录可写",
        "数据库可连接",
        "数据库结构为最新版本",
        "没有正在运行的定时任务进程",
        "检查通过",
    ):
        assert needle in out
    assert "[失败]" not in result.output


def test_short_secret_and_other_config_refused(app, database_url, tmp_path):
    result = run_check(production_app(database_url, tmp_path / "u", SECRET_KEY="abc123"))
    assert result.exit_code == 1
    assert "SECRET_KEY 太短（6 位）" in result.stderr
    result = run_check(
        create_app(
            "development",
            SECRET_KEY=SECRET,
            SQLALCHEMY_DATABASE_URI=database_url,
            UPLOAD_DIR=str(tmp_path / "u"),
        )
    )
    assert result.exit_code == 1
    assert "APP_CONFIG=development：生产环境必须设为 APP_CONFIG=production" in result.stderr


def test_default_secret_refused_by_the_cli_with_one_chinese_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY",)}
    env.update(
        APP_CONFIG="production",
        DATABASE_URL=f"sqlite:///{tmp_path / 'q.sqlite'}",
        UPLOAD_DIR=str(tmp_path / "u"),
    )
    proc = cli_check(env)
    assert proc.returncode == 1
    assert "SECRET_KEY" in proc.stderr and "默认密钥" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_upload_dir(app, database_url, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_check(production_app(database_url, blocker / "uploads"))
    assert result.exit_code == 1
    assert f"上传目录 {blocker / 'uploads'} 不可写" in result.stderr


def test_unreachable_database(backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'missing-dir' / 'q.sqlite'}"
    else:
        pg = os.environ.get("TEST_POSTGRES_URL")
        if not pg:
            pytest.skip("PostgreSQL 不可用：未设置 TEST_POSTGRES_URL")
        url = make_url(pg).set(port=1).render_as_string(hide_password=False)
    result = run_check(production_app(url, tmp_path / "u"))
    assert result.exit_code == 1
    assert "无法连接数据库" in result.stderr
    assert "qiangji:qiangji@" not in result.output  # the password is not printed


def test_missing_migration(app, backend, database_url, tmp_path):
    from flask_migrate import downgrade, upgrade

    migrations = str(ROOT / "migrations")
    prod = production_app(database_url, tmp_path / "u")
    with prod.app_context():
        downgrade(directory=migrations, revision="-1")
        _db.engine.dispose()
    try:
        result = run_check(prod)
        assert result.exit_code == 1
        assert "落后于程序" in result.stderr and "flask --app wsgi db upgrade" in result.stderr
    finally:
        with prod.app_context():
            upgrade(directory=migrations)
            _db.engine.dispose()


def test_empty_database_needs_migrations(tmp_path):
    result = run_check(production_app(f"sqlite:///{tmp_path / 'empty.sqlite'}", tmp_path / "u"))
    assert result.exit_code == 1
    assert "数据库尚未建表" in result.stderr


def _hold_lock(holder: str, age: timedelta) -> None:
    now = utcnow()
    _db.session.add(
        SchedulerLock(name="scheduler", holder=holder, started_at=now - age, heartbeat_at=now - age)
    )
    _db.session.commit()


def test_scheduler_running_on_another_host(app, prod):
    _hold_lock("court-app-2:4242", timedelta(seconds=10))
    result = run_check(prod)
    assert result.exit_code == 1
    assert "另一台服务器上的定时任务进程正在运行（court-app-2:4242" in result.stderr
    # The web service's pre-start check leaves the scheduler lock alone.
    assert run_check(prod, "--skip-scheduler").exit_code == 0


def test_scheduler_stale_or_on_this_host_passes(app, prod):
    _hold_lock("court-app-2:4242", timedelta(minutes=5))
    result = run_check(prod)
    assert result.exit_code == 0, result.output
    _db.session.query(SchedulerLock).delete()
    _db.session.commit()
    _hold_lock(f"{socket.gethostname()}:{os.getpid()}", timedelta(seconds=5))
    result = run_check(prod)
    assert result.exit_code == 0, result.output
    assert "本机的定时任务进程正在运行" in result.stdout


def test_calendar_gaps_are_warnings(prod, monkeypatch):
    import app.reminders.workdays as workdays

    monkeypatch.setattr(workdays, "missing_calendar_years", lambda today: [2027])
    result = run_check(prod)
    assert result.exit_code == 0, result.output
    assert "[警告] 2027年的法定节假日和调休安排尚无官方数据" in result.stdout
    assert "1 项警告" in result.stdout


def test_create_admin(prod):
    runner_args = [
        "users",
        "create-admin",
        "itadmin",
        "--name",
        "张三",
        "--unit",
        "辽宁省高级人民法院",
        "--password",
        "Qj#2026-offline",
    ]
    with prod.app_context():
        runner = prod.test_cli_runner()
        result = runner.invoke(args=runner_args)
        assert result.exit_code == 0, result.output
        assert "已新建单位：辽宁省高级人民法院" in result.stdout
        from app.org.models import User

        user = _db.session.query(User).filter_by(username="itadmin").one()
        assert user.roles == {"admin"} and user.unit.name == "辽宁省高级人民法院"
        # A second administrator in a unit that is not there; a weak password; the same name again.
        bad = runner.invoke(
            args=[
                "users",
                "create-admin",
                "sec",
                "--name",
                "李四",
                "--unit",
                "不存在的法院",
                "--role",
                "secadmin",
                "--password",
                "Qj#2026-offline",
            ]
        )
        assert bad.exit_code == 1 and "找不到单位“不存在的法院”" in bad.stderr
        weak = runner.invoke(
            args=[
                "users",
                "create-admin",
                "sec",
                "--name",
                "李四",
                "--unit",
                "辽宁省高级人民法院",
                "--role",
                "secadmin",
                "--password",
                "password",
            ]
        )
        assert weak.exit_code == 1 and "未创建账号" in weak.stderr
        again = runner.invoke(args=runner_args)
        assert again.exit_code == 1 and "已存在" in again.stderr
        _db.session.remove()
        _db.engine.dispose()
