"""/auth/token: a bearer token for a username and password (and second factor), and
the caller's own token revoked."""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_login import current_user, login_required

from app.api import bp, tokens
from app.api.core import ApiError, me, run
from app.api.inputs import TokenIn
from app.api.outputs import TokenOut
from app.auth.services import authenticate
from app.errors import ServiceError
from app.extensions import db
from app.timeutil import utcnow


@bp.route("/auth/token", endpoint="token")
class Token(MethodView):
    @bp.doc(summary="用户名密码（及动态验证码）换取 Bearer 令牌（30 天有效）", security=[])
    @bp.arguments(TokenIn)
    @bp.response(200, TokenOut)
    @bp.errors(400, 401, 403, 429, 503)
    def post(self, args: dict):
        now = utcnow()
        try:
            user = authenticate(
                args["username"], args["password"], request.remote_addr or "-", now=now, otp=args.get("otp")
            )
        except ServiceError as exc:
            db.session.commit()  # keep the failed attempt for the throttle
            # 403: a directory account the court's mapping refuses; 503: the directory does
            # not answer (local accounts still work); anything else reads as a wrong password.
            raise ApiError(exc.message, exc.status if exc.status in (403, 429, 503) else 401) from None
        value = tokens.issue(user, now=now)
        db.session.commit()
        return {"token": value, "expires_in_days": tokens.TOKEN_DAYS}

    @bp.doc(summary="撤销本次请求所用的 Bearer 令牌（退出 API 登录）")
    @bp.response(204, description="已撤销")
    @bp.errors(400, 401, 403)
    @login_required
    def delete(self):
        header = request.headers.get("Authorization", "")
        row = tokens.row_for(header[7:].strip()) if header.startswith("Bearer ") else None
        if row is None or row.user_id != current_user.id:
            raise ApiError("本次请求未使用 Bearer 令牌（浏览器会话请在网页上退出登录）。")
        run(lambda: tokens.revoke(row, reason="owner", now=utcnow(), actor=me()))
        return Response(status=204)
