"""Dashboard pages: the roll-up of a unit's subtree, today's work, rankings, trends."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from flask import abort, flash, render_template, request, send_file
from flask_login import current_user, login_required
from sqlalchemy import select

from app import authz
from app.dashboard import bp, charts, queries, rankings
from app.dashboard.export import rankings_xlsx
from app.dashboard.tree_html import tree_rows
from app.deadlines import LIGHTS, add_months, month_end
from app.errors import ServiceError
from app.extensions import db
from app.indicators.compliance import key_figures
from app.indicators.values import last_complete_month
from app.org.models import Unit, UnitClosure
from app.tasks.helpers import arg_int, categories, parse_date, visible_projects
from app.tasks.queries import light, my_work
from app.timeutil import local_today
from app.visits.queries import coverage

COVERAGE_MONTHS = 6
PERIODS = {"all": "全部", "month": "本月", "quarter": "本季度", "year": "本年", "custom": "自定义"}
TODAY_ROLES = ("tribunal_head", "coordinator", "staff")
OVERVIEW_ROLES = ("reviewer", "assigner", "leader", "viewer")


def home_endpoint(user: Any) -> str | None:
    """Which dashboard is this user's first screen (None: the plain home page)."""
    if user.has_role(*OVERVIEW_ROLES):
        return "overview"
    if user.has_role(*TODAY_ROLES):
        return "today"
    return None


def period_range(period: str, today: date) -> tuple[date | None, date | None]:
    if period == "month":
        return date(today.year, today.month, 1), month_end(today.year, today.month)
    if period == "quarter":
        first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        last = add_months(first, 2)
        return first, month_end(last.year, last.month)
    if period == "year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    return None, None


def filters_from_args(today: date) -> tuple[queries.Filters, str]:
    """Project, category and period from the query string; a bad date is ignored
    with a message (never a 500)."""
    args = request.args
    period = args.get("period", "all")
    if period not in PERIODS:
        period = "all"
    first, last = period_range(period, today)
    if period == "custom" or args.get("from") or args.get("to"):
        first, last = parse_date(args.get("from")), parse_date(args.get("to"))
        period = "custom" if (first or last) else "all"
        if (args.get("from") and first is None) or (args.get("to") and last is None):
            flash("日期应写成“2026-06-30”这样的年-月-日，已忽略无法识别的日期。", "warning")
    if first and last and first > last:
        flash("起始日期晚于截止日期，已对调。", "warning")
        first, last = last, first
    f = queries.Filters(arg_int("project"), arg_int("category"), first, last)
    return f, period


def root_unit(action: str = "dashboard.view") -> Unit:
    return authz.get_scoped_or_404(Unit, arg_int("unit") or current_user.unit_id, action, current_user)


def province_of(unit_id: int) -> Unit:
    """The top of the tree above a unit (the high court): whose rankings it takes part in."""
    top = db.session.scalar(
        select(UnitClosure.ancestor_id)
        .where(UnitClosure.descendant_id == unit_id)
        .order_by(UnitClosure.depth.desc())
        .limit(1)
    )
    return db.session.get(Unit, top)


def trend_charts(
    t: rankings.Trend, scale: float = 1.0, prefix: str = "trend", height: int = charts.HEIGHT
) -> dict[str, Any]:
    labels = t.months
    return {
        "counts": charts.bar_chart(
            labels,
            [charts.Series("办结事项", t.closed), charts.Series("月末逾期事项", t.overdue)],
            title="每月办结与逾期事项",
            scale=scale * 1.25,
            height=height,
            testid=f"{prefix}-counts",
        ),
        "rate": charts.line_chart(
            labels,
            [charts.Series("按期完成率", t.on_time_rate)],
            title="每月按期完成率（当月到期事项）",
            percent=True,
            scale=scale * 1.25,
            height=height,
            testid=f"{prefix}-rate",
        ),
    }


PHONE_MONTHS = 6


def phone_charts(t: rankings.Trend, prefix: str = "trend") -> dict[str, Any]:
    """The same charts for a phone: the last six months, drawn with larger type (an
    SVG shrinks as a whole, so twelve months at 375 px would be unreadable)."""
    n = PHONE_MONTHS
    last = rankings.Trend(t.months[-n:], t.closed[-n:], t.overdue[-n:], t.on_time_rate[-n:])
    return trend_charts(last, scale=1.7, prefix=f"{prefix}-phone", height=420)


@bp.route("/dashboard")
@login_required
def overview():
    today = local_today()
    root = root_unit()
    f, period = filters_from_args(today)
    node = queries.tree(current_user, root, f, today)
    ctx: dict[str, Any] = {}
    if root.level == "high":
        # the tree holds every court's checklist compliance already: the reviewer sees
        # the whole province, so his figures are the published ones
        province_rank = rankings.ranking(
            root,
            "intermediate",
            rankings.period_of(today),
            today,
            compliance={n.unit_id: n.compliance for n in node.walk()},
        )
        ctx.update(ranking=province_rank[:5], red=rankings.red_list(current_user, root, today, limit=8))
        t = rankings.trend(current_user, root, today, months=12)
        ctx.update(trend=trend_charts(t), trend_phone=phone_charts(t))
        # the key case-quality indicators beside the task figures (one statement)
        month = last_complete_month(today)
        ctx.update(quality=key_figures(root, month), quality_month=month)
    else:
        ctx.update(
            waiting=queries.review_waiting(current_user, today),
            lights=queries.own_lights(current_user, root.id, today),
            standards=queries.checklist_summary(current_user, root.id),
            unvisited=coverage(current_user, root, months=COVERAGE_MONTHS, today=today)[1],
            coverage_months=COVERAGE_MONTHS,
        )
    return render_template(
        "dashboard/overview.html",
        root=root,
        node=node,
        f=f,
        period=period,
        periods=PERIODS,
        list_args=f.args(),
        projects=visible_projects(current_user),
        categories=categories(),
        today=today,
        light=light,
        light_names=LIGHTS,
        tree_rows=tree_rows,
        **ctx,
    )


@bp.route("/today")
@login_required
def today_page():
    """The home page of tribunals and base courts: everything the user must act on — the
    same sections and counts as 我的工作 (/my), drawn from the same function."""
    today = local_today()
    return render_template(
        "dashboard/today.html", work=my_work(current_user, today), today=today, light=light
    )


def _ranking_args() -> tuple[Unit, str, str, str, date]:
    today = local_today()
    level = request.args.get("level", "intermediate")
    if level not in rankings.LEVELS:
        level = "intermediate"
    period = request.args.get("period") or rankings.period_of(today)
    metric = request.args.get("by", "rate")
    return province_of(current_user.unit_id), level, period, metric, today


def _ranking_data() -> dict[str, Any]:
    """The ranking asked for; a malformed month is said (flash) and this month shown,
    with status 400 in `status`."""
    authz.require(current_user, "ranking.view")
    root, level, period, metric, today = _ranking_args()
    status = 200
    try:
        rankings.period_bounds(period)
    except ServiceError as exc:
        flash(exc.message, "danger")
        period, status = rankings.period_of(today), 400
    rows = rankings.ranking(root, level, period, today, metric)
    first, _ = rankings.period_bounds(period)
    return dict(
        root=root,
        level=level,
        levels=rankings.LEVELS,
        period=period,
        previous=rankings.previous_period(period),
        following=rankings.period_of(add_months(first, 1)),
        metric=metric if metric in rankings.METRICS else "rate",
        metrics=rankings.METRICS,
        rows=rows,
        red=rankings.red_list(current_user, root, today),
        today=today,
        status=status,
    )


@bp.route("/rankings")
@login_required
def rankings_page():
    data = _ranking_data()
    return render_template("dashboard/rankings.html", **data), data["status"]


@bp.route("/rankings/print")
@login_required
def rankings_print():
    data = _ranking_data()
    return render_template("dashboard/rankings_print.html", **data), data["status"]


@bp.route("/rankings.xlsx")
@login_required
def rankings_export():
    data = _ranking_data()
    if data["status"] != 200:
        abort(400)
    body = rankings_xlsx(
        data["rows"],
        data["red"],
        level=data["level"],
        period=data["period"],
        unit=data["root"].name,
        today=data["today"],
    )
    return send_file(
        io.BytesIO(body),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"排名-{data['levels'][data['level']]}-{data['period']}.xlsx",
    )


@bp.route("/trends")
@login_required
def trends():
    today = local_today()
    root = root_unit()
    months = min(max(request.args.get("months", 12, type=int) or 12, 3), 36)
    t = rankings.trend(current_user, root, today, months=months)
    units = db.session.execute(
        authz.scope(
            select(Unit.id, Unit.name, UnitClosure.depth)
            .join(UnitClosure, UnitClosure.descendant_id == Unit.id)
            .where(UnitClosure.ancestor_id == current_user.unit_id, Unit.level != "tribunal"),
            Unit,
            current_user,
        ).order_by(UnitClosure.depth, Unit.sort_order, Unit.id)
    ).all()
    return render_template(
        "dashboard/trends.html",
        root=root,
        t=t,
        months=months,
        charts=trend_charts(t),
        phone=phone_charts(t),
        units=units,
    )
