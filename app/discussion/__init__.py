"""Discussion on an item (讨论): comments with @mentions on assignments, rectifications
and visits, and the people who watch (关注) one of them and hear of every change."""

from flask import Blueprint

bp = Blueprint("discussion", __name__, template_folder="templates")

from app.discussion import views  # noqa: E402, F401

# The domain's rules join the policy, and its journal listener the journal, in create_app
# (app.discussion.policy.register): app.authz imports the domains, which import this.
