"""API: checklists (issue 4)."""

from app.api import bp  # noqa: F401
