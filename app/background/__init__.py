"""Background jobs: long work (imports, large exports, the month-end circular) run by
the scheduler process, with a page per job that shows its progress and its result."""

from flask import Blueprint

bp = Blueprint("jobs", __name__, template_folder="templates")

from app.background import views  # noqa: E402,F401
