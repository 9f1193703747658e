"""Dashboards: the province roll-up, rankings (赛马), trends, today's work and the
lobby wall display (上墙)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, template_folder="templates")

from app.dashboard import views, wall_views  # noqa: E402,F401
