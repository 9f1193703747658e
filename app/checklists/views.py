"""Checklist pages (对标对表)."""

from app.checklists import bp  # noqa: F401
