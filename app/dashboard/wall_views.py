"""The lobby wall display (上墙) — opened with a display token, no login — and the
admin page that makes and revokes those tokens."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.dashboard import bp, queries, rankings, services
from app.dashboard.models import DisplayToken
from app.dashboard.views import trend_charts
from app.extensions import db
from app.indicators.compliance import key_figures
from app.indicators.values import last_complete_month
from app.org.models import Unit, UnitClosure
from app.tasks.helpers import assignable_units
from app.timeutil import local_today, utcnow
from app.views_util import actor, run_service

ROTATE = (5, 300, 20)  # seconds per panel: min, max, default
REFRESH = (10, 3600, 300)  # seconds between data refreshes


def _bounded(name: str, bounds: tuple[int, int, int]) -> int:
    low, high, default = bounds
    value = request.args.get(name, type=int)
    return default if value is None else min(max(value, low), high)


def _ranking_scope(unit: Unit) -> tuple[Unit, str, int]:
    """Whose race a unit's wall shows: the high court's intermediate courts; an
    intermediate court's base courts; a base court or tribunal: the base courts of its
    intermediate court (its own court highlighted)."""
    if unit.level == "high":
        return unit, "intermediate", unit.id
    if unit.level == "intermediate":
        return unit, "base", unit.id
    rows = db.session.execute(
        select(Unit, UnitClosure.depth)
        .join(UnitClosure, UnitClosure.ancestor_id == Unit.id)
        .where(UnitClosure.descendant_id == unit.id, Unit.level.in_(("intermediate", "base")))
    ).all()
    by_level = {u.level: u for u, _ in rows}
    inter = by_level.get("intermediate")
    base = by_level.get("base")
    return (inter or unit), "base", (base.id if base else unit.id)


@bp.route("/wall/<token>")
def wall(token: str):
    display = services.find_display(token)
    if display is None:
        return render_template("dashboard/wall_gone.html", message="显示屏地址无效，请联系系统管理员。"), 404
    if not display.active or not display.unit.is_active:
        return render_template("dashboard/wall_gone.html", message="该显示屏已被系统管理员停用。"), 410
    unit, today = display.unit, local_today()
    viewer = authz.DisplayViewer(display.id, unit.id)
    node = queries.tree(viewer, unit, queries.Filters(), today)
    race_root, level, highlight = _ranking_scope(unit)
    services.touch(display, utcnow())  # written after the page (app/auth/sessions.py defer)
    return render_template(
        "dashboard/wall.html",
        display=display,
        unit=unit,
        node=node,
        children=sorted(node.children, key=lambda n: (-(n.on_time_rate or 0), n.overdue))[:12],
        level=level,
        ranking=rankings.ranking(race_root, level, rankings.period_of(today), today)[:12],
        highlight=highlight,
        red=rankings.red_list(viewer, unit, today, limit=10),
        charts=trend_charts(rankings.trend(viewer, unit, today, months=12), scale=1.6, prefix="wall"),
        quality=key_figures(unit, last_complete_month(today)),
        quality_month=last_complete_month(today),
        rotate=_bounded("rotate", ROTATE),
        refresh=_bounded("refresh", REFRESH),
        today=today,
        now=utcnow(),
    )


def _displays_page(status: int = 200, new: dict[str, Any] | None = None):
    tokens = db.session.scalars(
        authz.scope(select(DisplayToken), DisplayToken, current_user).order_by(
            DisplayToken.revoked_at.is_not(None), DisplayToken.unit_id, DisplayToken.id
        )
    ).all()
    units = {current_user.unit_id: current_user.unit.name, **assignable_units(current_user)}
    return render_template("dashboard/displays.html", tokens=tokens, units=units, new=new), status


@bp.route("/admin/displays", methods=["GET", "POST"])
@login_required
def displays():
    authz.require(current_user, "admin.access")
    if request.method == "GET":
        return _displays_page()
    unit_id = request.form.get("unit_id", type=int)
    unit = authz.get_scoped_or_404(Unit, unit_id, "display.manage", current_user) if unit_id else None
    if unit is None:
        flash("请选择显示屏所属单位。", "danger")
        return _displays_page(400)
    label = request.form.get("label", "")
    result, status = run_service(lambda: services.create_display(actor(), unit, label=label, now=utcnow()))
    if result is None:
        return _displays_page(status)
    token, raw = result
    flash(f"已为{unit.name}设置显示屏“{token.label}”。显示地址只显示这一次，请立即复制。", "success")
    return _displays_page(
        201, new={"label": token.label, "url": url_for("dashboard.wall", token=raw, _external=True)}
    )


@bp.route("/admin/displays/<int:display_id>/revoke", methods=["POST"])
@login_required
def display_revoke(display_id: int):
    token = authz.get_scoped_or_404(DisplayToken, display_id, "display.manage", current_user)
    version = request.form.get("version")
    _, status = run_service(
        lambda: services.revoke_display(actor(), token, expected_version=version, now=utcnow())
    )
    if status == 200:
        flash(f"显示屏“{token.label}”已停用，该屏幕下次刷新时将不再显示数据。", "success")
    return redirect(url_for("dashboard.displays")), 303
