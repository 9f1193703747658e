"""审判质效指标 and the assessment cadence: the catalogue, monthly values, compliance,
ranking, 预警, assessment periods and their meetings."""

from flask import Blueprint

bp = Blueprint("indicators", __name__, template_folder="templates")

from app.indicators import assessment_views, views  # noqa: E402, F401
from app.indicators.policy import register as _register_policy  # noqa: E402

_register_policy()
