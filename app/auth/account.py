"""One's own credentials: API tokens (list, revoke) and the second factor (enrol, disable)."""

from __future__ import annotations

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from app.api import tokens
from app.auth import bp, mfa, sessions
from app.auth.forms import CodeForm
from app.errors import ServiceError
from app.extensions import db
from app.timeutil import utcnow


def _me():
    return current_user._get_current_object()


@bp.route("/account/tokens")
@login_required
def tokens_page():
    rows = list(db.session.scalars(tokens.of_user(_me())))
    return render_template("auth/tokens.html", rows=rows, now=utcnow(), reasons=tokens.REASONS)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def token_revoke(token_id: int):
    row = tokens.get_or_404(token_id, _me())
    reason = "owner" if row.user_id == current_user.id else "secadmin"
    if tokens.revoke(row, reason=reason, now=utcnow(), actor=_me()):
        flash(f"访问令牌“{row.label}”已撤销，使用它的程序将无法再访问。", "success")
    else:
        flash("该访问令牌此前已撤销。", "info")
    db.session.commit()
    return redirect(url_for("auth.tokens_page"))


@bp.route("/account/mfa")
@login_required
def mfa_page():
    me = _me()
    left = mfa.recovery_codes_left(me) if mfa.enrolled(me) else 0
    return render_template(
        "auth/mfa.html", enrolled=mfa.enrolled(me), required=mfa.required(me), left=left, form=CodeForm()
    )


@bp.route("/account/mfa/enrol", methods=["GET", "POST"])
@login_required
def mfa_enrol():
    me = _me()
    if mfa.enrolled(me):
        flash("您已启用双因素认证。", "info")
        return redirect(url_for("auth.mfa_page"))
    # The secret waits in the signed session cookie until a code proves the app has it.
    secret = session.get("mfa_enrol_secret") or mfa.new_secret()
    session["mfa_enrol_secret"] = secret
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = mfa.enrol(me, secret, form.code.data, current_session=sessions.current(), now=utcnow())
        except ServiceError as exc:
            db.session.rollback()
            form.code.errors = [exc.message]
            status = 400
        else:
            db.session.commit()
            session.pop("mfa_enrol_secret", None)
            # Shown this once only: only their hashes are kept.
            response = make_response(render_template("auth/recovery_codes.html", codes=codes))
            response.headers["Cache-Control"] = "no-store"
            return response
    elif request.method == "POST":
        status = 400
    # segno's own SVG: path data only, the URI is encoded in the modules, never as text.
    qr = Markup(mfa.qr_svg(mfa.provisioning_uri(me, secret)))  # nosec B704
    return render_template("auth/mfa_enrol.html", form=form, qr=qr, secret=secret), status


@bp.route("/account/mfa/disable", methods=["POST"])
@login_required
def mfa_disable():
    form = CodeForm()
    if form.validate_on_submit():
        try:
            mfa.disable(_me(), form.code.data, now=utcnow())
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash("双因素认证已关闭。", "success")
    else:
        flash("请输入验证器中当前显示的 6 位动态验证码。", "danger")
    return redirect(url_for("auth.mfa_page"))
