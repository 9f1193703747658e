"""`flask --app wsgi reminders run [--date YYYY-MM-DD] [--dry-run]` for operators and cron:
one `key=value` line of counts on stdout (scripts read it); on stderr the same counts in
Chinese (app.reminders.runlog), the reason for not sending and any error."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask

from app.cli import parse_date_option
from app.extensions import db
from app.timeutil import local_today, utcnow


def register(app: Flask) -> None:
    @app.cli.group()
    def reminders() -> None:
        """提醒：每日提醒扫描。"""

    @reminders.command("run")
    @click.option("--date", "as_of", callback=parse_date_option, help="按该日运行（YYYY-MM-DD），默认今天。")
    @click.option("--dry-run", is_flag=True, help="演练：只统计将发送的提醒，不发送、不记录。")
    def run(as_of: date | None, dry_run: bool) -> None:
        """运行一次每日提醒，输出一行统计。"""
        from app.reminders.models import SweepRun
        from app.reminders.runlog import sweep_summary
        from app.reminders.sweep import run_sweep

        result = run_sweep(as_of or local_today(), utcnow(), dry_run=dry_run, trigger="cli")
        if dry_run:
            db.session.rollback()
        else:
            if result.run_id:
                db.session.get(SweepRun, result.run_id).finished_at = utcnow()
            db.session.commit()
        # stdout keeps its `key=value` line for cron and scripts (a contract); the same
        # counts in Chinese for the operator on stderr
        click.echo(result.summary())
        click.echo(f"# {sweep_summary(result.counts)}", err=True)
        if result.skipped_reason:
            click.echo(f"# {result.as_of}: {result.skipped_reason}", err=True)
        for line in result.errors:
            click.echo(f"# {line}", err=True)
