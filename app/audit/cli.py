"""`flask --app wsgi audit verify` and `flask --app wsgi audit purge --before YYYY-MM-DD`."""

from __future__ import annotations

import getpass
import sys
from datetime import date, datetime

import click
from flask import Flask

from app.errors import ServiceError
from app.extensions import db
from app.timeutil import utcnow


def _os_user() -> str:
    try:
        return getpass.getuser()[:40]
    except Exception:  # noqa: BLE001 — no login name (a container): say so
        return "?"


def register(app: Flask) -> None:
    @app.cli.group()
    def audit() -> None:
        """安全审计日志：校验哈希链、按保留期清理。"""

    @audit.command("verify")
    def verify_command() -> None:
        """Walk the chain: the row count and the first broken link (exit 1 if any)."""
        from app.audit import services

        result = services.verify()
        services.event(
            "audit.verify",
            result="success" if result.ok else "failure",
            username="system",
            detail={**result.as_detail(), "os_user": _os_user()},
        )
        if result.ok:
            click.echo(f"审计日志共 {result.rows} 条记录，哈希链完整。")
            if result.head:
                click.echo(f"链尾哈希（SM3，请另行留存以便日后比对）：{result.head}")
            return
        click.echo(f"审计日志共 {result.rows} 条记录（已检查到断点为止）。")
        click.echo(f"第一个断点：第 {result.broken_at} 号记录 —— {result.reason}")
        sys.exit(1)

    @audit.command("purge")
    @click.option("--before", "before", required=True, help="删除该日期（YYYY-MM-DD，UTC 零点）之前的记录")
    def purge_command(before: str) -> None:
        """Delete rows older than a date — never younger than 180 days."""
        from app.audit import services

        try:
            day = date.fromisoformat(before.strip())
        except ValueError:
            click.echo(f"日期“{before[:20]}”无效，格式应为 YYYY-MM-DD。", err=True)
            sys.exit(1)
        cut = datetime(day.year, day.month, day.day)
        try:
            deleted = services.purge(cut, today_utc=utcnow(), note={"os_user": _os_user()})
        except ServiceError as exc:
            db.session.rollback()
            services.event(
                "audit.purge",
                result="failure",
                username="system",
                detail={"before": cut.isoformat(), "reason": exc.message, "os_user": _os_user()},
            )
            click.echo(exc.message, err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(
            f"已删除 {deleted} 条 {day.isoformat()} 之前的审计记录；本次清理已记入审计日志，哈希链从保留的第一条继续。"
        )
