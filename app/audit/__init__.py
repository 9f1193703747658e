"""安全审计: the append-only, hash-chained audit log, its page for the 审计员 and its CLI."""

from flask import Blueprint

bp = Blueprint("audit", __name__, template_folder="templates")

from app.audit import views  # noqa: E402,F401
