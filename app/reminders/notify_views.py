"""Reminder pages (issue 5)."""

from app.reminders import bp  # noqa: F401
