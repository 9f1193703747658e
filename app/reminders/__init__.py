from flask import Blueprint

bp = Blueprint("reminders", __name__, template_folder="templates")

from app.reminders import admin_views, circular_views, digest, notify_views, urge_views  # noqa: E402,F401
