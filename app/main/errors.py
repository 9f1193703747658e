"""Every error answers in Chinese, as a page (or JSON for the API)."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
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


def _render(status: int, message: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": message}), status
    return render_template("errors.html", status=status, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _render(400, "页面已过期或来源无法验证（CSRF 校验失败），请刷新页面后重新提交。")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description or "请求无法完成。")
        if code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            message = f"上传的文件过大，单次上传不能超过 {limit // (1024 * 1024)} MB。"
        return _render(code, message)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _render(500, MESSAGES[500])
