"""Command-line entry points: `flask --app wsgi seed demo`, `flask --app wsgi seed status`."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.timeutil import utcnow


def parse_date_option(ctx, param, value: str | None) -> date | None:
    """A click callback for a `--date YYYY-MM-DD` option, with a Chinese message."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"无法识别的日期“{value}”，请使用 YYYY-MM-DD 格式，例如 2026-12-31。"
        ) from None


def register(app: Flask) -> None:
    from app.audit.cli import register as register_audit
    from app.backup import register as register_backup
    from app.benchgen import register as register_bench
    from app.deploy_cli import register as register_deploy
    from app.jobs import register as register_jobs
    from app.reminders.cli import register as register_reminders
    from app.security.cli import register as register_security

    register_reminders(app)
    register_jobs(app)
    register_audit(app)  # flask audit verify | purge
    register_security(app)  # flask security report
    register_bench(app)  # flask bench generate
    register_backup(app)  # flask backup create | verify | restore
    register_deploy(app)  # flask check | users create-admin

    @app.cli.group()
    def seed() -> None:
        """Demo data."""

    @seed.command("demo")
    def seed_demo() -> None:
        """Load the Liaoning demo tree and accounts (running it twice changes nothing)."""
        from app.checklists.standards import load_standard_templates
        from app.discussion.demo import load_demo_discussion
        from app.seed.demo import (
            load_demo,
            load_demo_checklists,
            load_demo_history,
            load_demo_tasks,
            load_demo_visits,
        )
        from app.seed.demo_indicators import load_demo_indicators

        created = load_demo(utcnow())
        standards = load_standard_templates(utcnow())
        tasks = load_demo_tasks(utcnow())
        visits = load_demo_visits(utcnow())
        checklists = load_demo_checklists(utcnow())
        history = load_demo_history(utcnow())
        indicator_values = load_demo_indicators(utcnow())
        comments = load_demo_discussion(utcnow())  # issue 15
        db.session.commit()
        click.echo(
            f"demo data: units_created={created['units']} users_created={created['users']} "
            f"standards_created={standards} tasks_created={tasks} visits_created={visits} "
            f"checklists_created={checklists} history_items_created={history} "
            f"indicator_values_created={indicator_values} comments_created={comments}"
        )

    @seed.command("standards")
    def seed_standards() -> None:
        """Load the shipped checklist standards (五化, 示范人民法庭, 三年规划) and this year's
        key case-quality indicators (example intervals, to be confirmed) where missing."""
        from app.checklists.standards import load_standard_templates
        from app.indicators.catalogue import seed_catalogue
        from app.timeutil import local_today

        standards = load_standard_templates(utcnow())
        indicators = seed_catalogue(local_today().year, now=utcnow())
        db.session.commit()
        click.echo(f"standards_created={standards} indicators_created={indicators}")

    @seed.command("demo-if-empty")
    def seed_demo_if_empty() -> None:
        """Load the demo data only into an empty database (used by `make run`)."""
        from app.org.models import Unit

        if db.session.scalar(select(func.count()).select_from(Unit)):
            click.echo("database already has data: demo not loaded")
            return
        seed_demo.callback()
