"""Every error answers in Chinese, as a page (or JSON for the API)."""

from __future__ import annotations

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from app.extensions import db

MESSAGES = {
    400: "请求有误，请检查填写的内容后重试。",
    401: "请先登录。",
    403: "您没有权限进行此操作。",
    404: "页面不存在，或者您无权查看该内容。",
    405: "不支持该请求方式。",
    409: "该记录已被他人修改，请刷新后重试。",
    413: "上传的文件过大。",
    422: "提交的内容无法处理。",
    429: "操作过于频繁，请稍后再试。",
    500: "服务器内部错误，请稍后重试；如持续出现请联系管理员。",
}
DATA_MESSAGE = "提交的内容超出了系统能保存的范围（数字过大，或含有无法保存的字符），请检查后重试。"


def render_error(status: int, message: str):
    """The Chinese answer: JSON for the API, a page for everything else."""
    if request.path.startswith("/api/"):
        return jsonify({"error": message}), status
    return render_template("errors.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "页面已过期或来源无法验证（CSRF 校验失败），请刷新页面后重新提交。")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description or "请求无法完成。")
        if code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            message = f"上传的文件过大，单次上传不能超过 {limit // (1024 * 1024)} MB。"
        response = make_response(render_error(code, message))
        if code == 405 and getattr(exc, "valid_methods", None):  # RFC 9110: a 405 names what is allowed
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    # A net, not the fix: input is bounded and cleaned before it reaches the database
    # (app.security.hardening, app.forms, the API schemas). Should a value still get
    # through — an integer past the column's range, a character the driver refuses —
    # the user gets a 400 and nothing half-saved, and the log says where it slipped.
    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def data_error(exc: Exception):
        db.session.rollback()
        app.logger.warning("input the database cannot hold reached it: %s %s", request.method, request.path)
        return render_error(400, DATA_MESSAGE)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(500, MESSAGES[500])
