from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")

from app.auth import account, views  # noqa: E402,F401
