"""API: notifications (issue 5)."""

from app.api import bp  # noqa: F401
