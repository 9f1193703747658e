"""API: visits and rectifications (issue 4)."""

from app.api import bp  # noqa: F401
