from flask import Blueprint

bp = Blueprint("checklists", __name__, template_folder="templates")

from app.checklists import views  # noqa: E402,F401
