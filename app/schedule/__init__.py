"""日历与甘特图 (issue 15): a month calendar of deadlines and milestones in the user's
scope, and a project's items per unit as a Gantt chart. Read-only, drawn on the server."""

from flask import Blueprint

bp = Blueprint("schedule", __name__, template_folder="templates")

from app.schedule import views  # noqa: E402,F401
