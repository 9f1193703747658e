"""审判质效指标 and the assessment cadence: the catalogue, monthly values, compliance,
ranking, 预警, assessment periods and their meetings."""

from flask import Blueprint

bp = Blueprint("indicators", __name__, template_folder="templates")

from app.indicators import assessment_views, import_views, views  # noqa: E402, F401

# The domain's rules join the policy in create_app (app.indicators.policy.register): not
# here, where app.authz may be half-imported (it imports the dashboard, which imports this).
