from flask import Blueprint

bp = Blueprint("org", __name__, template_folder="templates")

from app.org import import_views, views  # noqa: E402,F401
