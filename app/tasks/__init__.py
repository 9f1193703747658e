from flask import Blueprint

bp = Blueprint("tasks", __name__, template_folder="templates")

from app.tasks import assignment_views, completion_views, import_views, link_views, views  # noqa: E402,F401
