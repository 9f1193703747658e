"""API: the dashboard roll-up of a unit's subtree and the rankings (赛马)."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required

from app import authz
from app.api import bp
from app.api.util import BadRequest, query_date, query_int
from app.dashboard import queries, rankings
from app.dashboard.views import province_of
from app.errors import ServiceError
from app.org.models import Unit
from app.tasks.models import Project
from app.timeutil import local_today


def _child_json(n: queries.Node) -> dict:
    return {
        "unit_id": n.unit_id,
        "name": n.name,
        "level": n.level,
        "total": n.total,
        "closed": n.closed,
        "on_time": n.on_time,
        "overdue": n.overdue,
        "on_time_rate": n.on_time_rate,
        "red": n.red,
        "yellow": n.yellow,
        "green": n.green,
        "rectifications_open": n.rect_open,
        "checklist_compliance": n.compliance,
        "visits": n.visits,
    }


@bp.route("/dashboard")
@login_required
def dashboard():
    """The unit's totals over its subtree and one row per unit directly below it."""
    root = authz.get_scoped_or_404(
        Unit, query_int("unit") or current_user.unit_id, "dashboard.view", current_user
    )
    project_id = query_int("project")
    if project_id:
        authz.get_scoped_or_404(Project, project_id, "project.view", current_user)
    first, last = query_date("from"), query_date("to")
    if first and last and first > last:
        raise BadRequest("参数 from 不能晚于 to。")
    f = queries.Filters(project_id, query_int("category"), first, last)
    today = local_today()
    node = queries.tree(current_user, root, f, today)
    v0, v1 = f.visit_window(today)
    return jsonify(
        {
            "unit_id": root.id,
            "name": root.name,
            "as_of": today.isoformat(),
            "filters": {
                "project": project_id,
                "category": f.category_id,
                "from": first.isoformat() if first else None,
                "to": last.isoformat() if last else None,
                "visits_from": v0.isoformat(),
                "visits_to": v1.isoformat(),
            },
            "totals": node.totals(),
            "children": [_child_json(c) for c in node.children],
        }
    )


@bp.route("/rankings")
@login_required
def ranking_list():
    """Intermediate or base courts of the caller's province ranked for a month."""
    authz.require(current_user, "ranking.view")
    level = request.args.get("level", "intermediate")
    if level not in rankings.LEVELS:
        raise BadRequest("参数 level 只能是 intermediate 或 base。")
    today = local_today()
    period = request.args.get("period") or rankings.period_of(today)
    metric = request.args.get("by", "rate")
    if metric not in rankings.METRICS:
        raise BadRequest("参数 by 只能是 rate、overdue、rect 或 compliance。")
    root = province_of(current_user.unit_id)
    try:
        rows = rankings.ranking(root, level, period, today, metric)
    except ServiceError as exc:
        raise BadRequest(exc.message) from None
    return jsonify(
        {
            "level": level,
            "period": period,
            "by": metric,
            "as_of": today.isoformat(),
            "unit_id": root.id,
            "rankings": [r.as_dict() for r in rows],
            "red_list": rankings.red_list(current_user, root, today),
        }
    )
