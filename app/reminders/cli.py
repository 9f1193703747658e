"""`flask --app wsgi reminders run [--date YYYY-MM-DD] [--dry-run]` for operators and cron."""

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
        """Reminders: the daily sweep."""

    @reminders.command("run")
    @click.option(
        "--date", "as_of", callback=parse_date_option, help="Run the sweep as of this day (YYYY-MM-DD)."
    )
    @click.option("--dry-run", is_flag=True, help="Count what would be sent; send and record nothing.")
    def run(as_of: date | None, dry_run: bool) -> None:
        """Run the reminder sweep once and print one line of counts."""
        from app.reminders.models import SweepRun
        from app.reminders.sweep import run_sweep

        result = run_sweep(as_of or local_today(), utcnow(), dry_run=dry_run, trigger="cli")
        if dry_run:
            db.session.rollback()
        else:
            if result.run_id:
                db.session.get(SweepRun, result.run_id).finished_at = utcnow()
            db.session.commit()
        click.echo(result.summary())
        if result.skipped_reason:
            click.echo(f"# {result.as_of}: {result.skipped_reason}", err=True)
        for line in result.errors:
            click.echo(f"# {line}", err=True)
