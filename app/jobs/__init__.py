"""The scheduler process and its jobs (never inside the web workers)."""

from flask import Flask


def register(app: Flask) -> None:
    """CLI: `flask --app wsgi scheduler` (filled in by app/jobs/scheduler.py)."""
    from app.jobs import scheduler

    scheduler.register(app)
