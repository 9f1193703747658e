from flask import Blueprint

bp = Blueprint("visits", __name__, template_folder="templates")

from app.visits import views  # noqa: E402,F401
