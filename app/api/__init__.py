from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import checklists_api, dashboard_api, notifications_api, views, visits_api  # noqa: E402,F401
