"""The home page and the health check."""

from __future__ import annotations

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from app import authz
from app.extensions import db
from app.main import bp
from app.org.queries import subtree_counts, subtree_units


@bp.route("/")
@login_required
def index():
    """The first screen answers the user's question: the roll-up for those who lead
    and review, today's work for tribunals, the tree for admins."""
    from app.dashboard.views import home_endpoint, overview, today_page

    if authz.security_only(current_user):  # 三员分立: straight to the job
        page = "audit.log" if current_user.has_role("auditor") else "security.settings_page"
        return redirect(url_for(page))
    endpoint = home_endpoint(current_user)
    if endpoint == "overview":
        return overview()
    if endpoint == "today":
        return today_page()
    units = subtree_units(current_user, limit=500)
    counts = subtree_counts(current_user)
    return render_template("main/index.html", units=units, counts=counts)


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        ok = True
    except Exception:  # noqa: BLE001 — a health check reports, it doesn't raise
        db.session.rollback()
        ok = False
    return jsonify({"status": "ok" if ok else "error", "database": ok}), (200 if ok else 503)


@bp.route("/readyz")
def readyz():
    """Ready to serve: database, upload directory, scheduler heartbeat (app.health).
    200 when all pass, 503 with the failing checks' Chinese messages otherwise."""
    from app.health import readiness
    from app.timeutil import utcnow

    checks = readiness(utcnow())
    failed = [c.message for c in checks if not c.ok]
    body = {
        "status": "error" if failed else "ok",
        "checks": {c.name: {"ok": c.ok, "message": c.message} for c in checks},
        "errors": failed,
    }
    return jsonify(body), (503 if failed else 200)


@bp.route("/admin/system")
@login_required
def system_status():
    """系统状态 for the 系统管理员: the readiness checks, the scheduler's last heartbeat,
    the last daily sweep and the last backup."""
    from app.health import heartbeat_max_age, last_backup, last_sweep, readiness
    from app.timeutil import utcnow

    authz.require(current_user, "admin.access")
    checks = readiness(utcnow())
    return render_template(
        "main/system.html",
        checks=checks,
        scheduler=next(c for c in checks if c.name == "scheduler"),
        heartbeat_limit=int(heartbeat_max_age().total_seconds()),
        sweep=last_sweep(),
        backup=last_backup(),
    )
