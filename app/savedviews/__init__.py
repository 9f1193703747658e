"""我的查询 (saved views): a filtered list kept under a name — private, or shared with
the people of the owner's unit — and one per list the owner's default, shown beside
the list it belongs to (assignments and rectifications, visits, checklists)."""

from flask import Blueprint

bp = Blueprint("savedviews", __name__, template_folder="templates")

from app.savedviews import views  # noqa: E402, F401

# The rules join the policy in create_app (app.savedviews.policy.register), as the
# indicators' do: app.authz imports every domain, so not at import time here.
