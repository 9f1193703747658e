"""The JSON API /api/v1: a flask-smorest blueprint whose marshmallow schemas validate the
input (app.api.inputs), serialize the answers (app.api.outputs) and generate the OpenAPI
document (app.api.openapi); the wiring in app.api.core, the field types in app.api.fields."""

from flask import Flask

from app.api.core import Blueprint, register_handlers

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="强基通 JSON 接口")
register_handlers(bp)

from app.api import (  # noqa: E402
    auth_api,
    checklists_api,
    completion_api,
    dashboard_api,
    imports_api,
    indicators_api,
    links_api,
    notifications_api,
    openapi,
    search_api,
    tasks_api,
    visits_api,
)


def init_app(app: Flask) -> None:
    """Register the API blueprint and build its OpenAPI document."""
    openapi.init_app(app, bp)
