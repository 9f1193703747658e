"""JSON in, JSON out: body parsing with Chinese 4xx messages."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, jsonify, request
from werkzeug.exceptions import HTTPException

from app.errors import ServiceError
from app.extensions import db


class BadRequest(HTTPException):
    code = 400

    def __init__(self, message: str, code: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message


def error(message: str, status: int = 400):
    return jsonify({"error": message}), status


def body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("请求体须为 JSON 对象（Content-Type: application/json）。")
    return data


def text_field(data: dict, name: str, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequest(f"缺少字段 {name}。")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"字段 {name} 须为字符串。")
    return value


def int_field(data: dict, name: str, required: bool = True) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise BadRequest(f"缺少字段 {name}。")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"字段 {name} 须为整数。")
    return value


def int_list(data: dict, name: str) -> list[int]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise BadRequest(f"字段 {name} 须为整数数组。")
    return value


def date_field(data: dict, name: str, required: bool = True) -> date | None:
    value = text_field(data, name, required)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"字段 {name} 须为 YYYY-MM-DD 格式的日期。") from None


def query_date(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"参数 {name} 须为 YYYY-MM-DD 格式的日期。") from None


def query_int(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise BadRequest(f"参数 {name} 须为整数。")
    return int(value)


def commit_or_error(fn, status: int = 200):
    """Run one service, commit once; a ServiceError → its Chinese message and 4xx."""
    try:
        result = fn()
    except ServiceError as exc:
        db.session.rollback()
        return None, error(exc.message, exc.status)
    db.session.commit()
    return result, None


def get_or_404(model: type, object_id: int) -> Any:
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    return obj
