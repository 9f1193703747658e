"""Visit pages (督导走访)."""

from app.visits import bp  # noqa: F401
