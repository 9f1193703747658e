"""Production commands: `flask --app wsgi check` (is this configuration fit to start?)
and `flask --app wsgi users create-admin` (the first administrators of a new installation).

`check` prints one line per check; every failure is a Chinese line on stderr and the
command exits 1; calendar gaps are warnings (exit 0). The systemd units run it before
gunicorn and the scheduler start (deploy/qiangji-web.service)."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import text

from app.extensions import db
from app.timeutil import utcnow
from config import DEFAULT_SECRET_KEY

SECRET_MIN_LENGTH = 32


@dataclass
class CheckReport:
    ok: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_secret(app: Flask, report: CheckReport) -> None:
    key = app.config.get("SECRET_KEY") or ""
    if key in ("", DEFAULT_SECRET_KEY, "testing-secret"):
        report.failures.append(
            "SECRET_KEY 是默认值或为空：请在 /etc/qiangji/qiangji.env 中设置随机密钥"
            "（python3 -c 'import secrets; print(secrets.token_hex(32))'）。"
        )
    elif len(key) < SECRET_MIN_LENGTH:
        report.failures.append(f"SECRET_KEY 太短（{len(key)} 位），至少需要 {SECRET_MIN_LENGTH} 位随机字符。")
    else:
        report.ok.append(f"SECRET_KEY 已设置（{len(key)} 位，非默认值）")


def check_config_name(app: Flask, report: CheckReport) -> None:
    name = app.config.get("NAME")
    if name != "production":
        report.failures.append(f"APP_CONFIG={name}：生产环境必须设为 APP_CONFIG=production。")
    else:
        report.ok.append("APP_CONFIG=production")


def check_upload_dir(app: Flask, report: CheckReport) -> None:
    path = Path(app.config["UPLOAD_DIR"])
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".check-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        report.failures.append(
            f"上传目录 {path} 不可写（{exc.strerror or exc}）：请创建该目录并交给服务账号 qiangji。"
        )
        return
    report.ok.append(f"上传目录可写：{path}")


def _safe_url() -> str:
    return db.engine.url.render_as_string(hide_password=True)


def check_database(report: CheckReport) -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 — any driver error means "cannot reach"
        db.session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        report.failures.append(f"无法连接数据库 {_safe_url()}：{reason}")
        return False
    report.ok.append(f"数据库可连接：{_safe_url()}")
    return True


def check_migrations(report: CheckReport) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    migrate = current_app.extensions["migrate"]
    script = ScriptDirectory(migrate.directory)
    heads = set(script.get_heads())
    current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    db.session.rollback()
    if current == heads:
        report.ok.append(f"数据库结构为最新版本（{', '.join(sorted(heads))}）")
        return True
    if not current:
        report.failures.append("数据库尚未建表（没有迁移记录）：请先运行 flask --app wsgi db upgrade。")
    elif not current <= {rev.revision for rev in script.walk_revisions()}:
        report.failures.append(
            f"数据库版本 {', '.join(sorted(current))} 比本程序新（本程序最高为 {', '.join(sorted(heads))}）："
            "请安装与数据库相配的版本，或从备份恢复。"
        )
    else:
        report.failures.append(
            f"数据库版本 {', '.join(sorted(current))} 落后于程序 {', '.join(sorted(heads))}："
            "缺少迁移，请运行 flask --app wsgi db upgrade（升级前先备份）。"
        )
    return False


def check_scheduler(report: CheckReport) -> None:
    """A live lock held on another host is a scheduler already running elsewhere: a
    second scheduler here would refuse to start. One held on this host is ours."""
    from app.background import lock

    found = lock.status(now=utcnow())
    db.session.rollback()
    if found is None or not found.alive:
        report.ok.append("没有正在运行的定时任务进程持有锁，可以启动 qiangji-scheduler")
        return
    host = found.holder.rpartition(":")[0]
    if host == socket.gethostname():
        report.ok.append(f"本机的定时任务进程正在运行（{found.holder}，{found.age_seconds} 秒前心跳）")
        return
    report.failures.append(
        f"另一台服务器上的定时任务进程正在运行（{found.holder}，{found.age_seconds} 秒前心跳）："
        "每套系统只能运行一个 qiangji-scheduler，请勿在本机再启动，或先停止那一台。"
    )


def check_calendar(report: CheckReport) -> None:
    from app.reminders.workdays import missing_calendar_years, missing_year_message
    from app.timeutil import to_local

    years = missing_calendar_years(to_local(utcnow()).date())
    for year in years:
        report.warnings.append(missing_year_message(year, on_page=False))
    if not years:
        report.ok.append("节假日日历有今年（以及已到公布时间的明年）的官方数据")


def check_directory(app: Flask, report: CheckReport) -> None:
    """Issue 15: the LDAP_* settings, then one bind of the service account. A directory
    that does not answer is a warning only: the local accounts still log in."""
    from app.auth import directory

    try:
        cfg = directory.load_settings(app.config)
    except directory.DirectoryConfigError as exc:
        report.failures.append(str(exc))
        return
    if cfg is None:
        report.ok.append("目录登录（LDAP）未启用：只有本地账号")
        return
    try:
        directory.probe(cfg)
    except directory.DirectoryUnavailable as exc:
        if exc.cause == "service bind":
            report.failures.append(
                f"目录服务 {cfg.url} 拒绝了服务账号 LDAP_BIND_DN：请核对 LDAP_BIND_DN 和 LDAP_BIND_PASSWORD。"
            )
        else:
            report.warnings.append(
                f"目录服务 {cfg.url} 当前无法连接（{exc.reason}）：目录账号暂不能登录，本地账号不受影响。"
            )
        return
    report.ok.append(f"目录登录（LDAP）已启用：{cfg.url}，映射 {len(cfg.group_roles)} 个目录组")


def run_checks(app: Flask, *, scheduler: bool = True) -> CheckReport:
    report = CheckReport()
    check_config_name(app, report)
    check_secret(app, report)
    check_upload_dir(app, report)
    check_directory(app, report)
    if check_database(report):
        if check_migrations(report) and scheduler:
            check_scheduler(report)
        check_calendar(report)
    db.session.remove()
    return report


def register(app: Flask) -> None:
    @app.cli.command("check")
    @click.option(
        "--skip-scheduler",
        is_flag=True,
        help="不检查定时任务锁（Web 服务启动前使用：定时任务在运行是正常的）",
    )
    def check_command(skip_scheduler: bool) -> None:
        """Verify a production configuration before start (exit 1 on any failure)."""
        report = run_checks(current_app, scheduler=not skip_scheduler)
        for line in report.ok:
            click.echo(f"[通过] {line}")
        for line in report.warnings:
            click.echo(f"[警告] {line}")
        for line in report.failures:
            click.echo(f"[失败] {line}", err=True)
        if report.failures:
            click.echo(f"检查未通过：{len(report.failures)} 项失败。", err=True)
            sys.exit(1)
        click.echo(f"检查通过：{len(report.ok)} 项通过，{len(report.warnings)} 项警告。")

    @app.cli.group("users")
    def users() -> None:
        """账号：创建第一个管理员。"""

    @users.command("create-admin")
    @click.argument("username")
    @click.option("--name", "display_name", required=True, help="姓名")
    @click.option(
        "--role",
        type=click.Choice(["admin", "secadmin", "auditor"]),
        default="admin",
        show_default=True,
        help="三员之一：系统管理员 admin、安全管理员 secadmin、安全审计员 auditor",
    )
    @click.option(
        "--unit", "unit_name", required=True, help="所在单位全称（库中没有任何单位时新建为高级人民法院）"
    )
    @click.option(
        "--password",
        prompt="密码",
        hide_input=True,
        confirmation_prompt="再次输入密码",
        envvar="QIANGJI_ADMIN_PASSWORD",
        help="不给出时交互输入（不回显）",
    )
    def create_admin(username: str, display_name: str, role: str, unit_name: str, password: str) -> None:
        """Open an administrator account (系统管理员, 安全管理员 or 审计员) from the command line."""
        from sqlalchemy import func, select

        from app.audit.services import event
        from app.errors import ServiceError
        from app.org.models import Unit
        from app.org.services import create_unit, create_user, find_unit_by_name

        now = utcnow()
        try:
            unit = find_unit_by_name(unit_name.strip())
            if unit is None:
                if db.session.scalar(select(func.count()).select_from(Unit)):
                    raise ServiceError(f"找不到单位“{unit_name}”：请写单位全称（或别名）。")
                unit = create_unit(None, name=unit_name, level="high", parent=None, now=now)
                click.echo(f"已新建单位：{unit.name}（高级人民法院）")
            user = create_user(
                None,
                username=username,
                display_name=display_name,
                unit=unit,
                roles=[role],
                password=password,
                now=now,
            )
            event("user.create_admin", username="system", detail={"user": user.username, "role": role})
            db.session.commit()
        except ServiceError as exc:
            db.session.rollback()
            click.echo(f"未创建账号：{exc}", err=True)
            sys.exit(1)
        from app.org.models import ROLES

        click.echo(f"已创建{ROLES[role]}账号 {user.username}（{display_name}，{unit.name}）。")
        if os.environ.get("APP_CONFIG") == "production" or current_app.config.get("NAME") == "production":
            click.echo("首次登录时须绑定双因素验证器（手机上的 TOTP 应用）。")
