"""API: the dashboard roll-up of a unit's subtree and the rankings (赛马)."""

from __future__ import annotations

from flask_login import current_user, login_required

from app import authz
from app.api import bp
from app.api.core import ApiError
from app.api.inputs import DashboardQuery, RankingsQuery
from app.api.outputs import DashboardOut, RankingsOut
from app.dashboard import queries, rankings
from app.dashboard.views import province_of
from app.errors import ServiceError
from app.org.models import Unit
from app.tasks.models import Project
from app.timeutil import local_today


def _child_out(n: queries.Node) -> dict:
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
@bp.doc(
    summary="工作概览：单位及其全部下级的汇总，和每个直属下级单位一行（各自含其下级）",
    description="统计口径与完成清单相同：上级交办的事项（法院内部分解到法庭的不重复计算），"
    "from/to 按完成时限筛选；按期完成率 = 按期办结 ÷（已办结 + 逾期）；"
    "红黄绿灯为派生状态（红灯 = 逾期，黄灯 = 7 天内到期或进度落后，绿灯 = 其余未办结，灰灯 = 已办结）；"
    "走访按走访日期统计，未给期间时为本年。",
)
@bp.arguments(DashboardQuery, location="query")
@bp.response(200, DashboardOut)
@bp.errors(400, 401, 403, 404)
def dashboard(args: dict):
    """The unit's totals over its subtree and one row per unit directly below it."""
    root = authz.get_scoped_or_404(
        Unit, args.get("unit") or current_user.unit_id, "dashboard.view", current_user
    )
    project_id = args.get("project")
    if project_id:
        authz.get_scoped_or_404(Project, project_id, "project.view", current_user)
    first, last = args.get("date_from"), args.get("date_to")
    if first and last and first > last:
        raise ApiError("参数 from 不能晚于 to。")
    f = queries.Filters(project_id, args.get("category"), first, last)
    today = local_today()
    node = queries.tree(current_user, root, f, today)
    v0, v1 = f.visit_window(today)
    return {
        "unit_id": root.id,
        "name": root.name,
        "as_of": today,
        "filters": {
            "project": project_id,
            "category": f.category_id,
            "from_": first,
            "to": last,
            "visits_from": v0,
            "visits_to": v1,
        },
        "totals": node.totals(),
        "children": [_child_out(c) for c in node.children],
    }


@bp.route("/rankings")
@login_required
@bp.doc(summary="赛马排名：本省中级法院或基层法院某月的排名、较上月名次变化和逾期红榜")
@bp.arguments(RankingsQuery, location="query")
@bp.response(200, RankingsOut)
@bp.errors(400, 401, 403)
def ranking_list(args: dict):
    """Intermediate or base courts of the caller's province ranked for a month."""
    authz.require(current_user, "ranking.view")
    today = local_today()
    level, metric = args["level"], args["by"]
    period = args.get("period") or rankings.period_of(today)
    root = province_of(current_user.unit_id)
    try:
        rows = rankings.ranking(root, level, period, today, metric)
    except ServiceError as exc:
        raise ApiError(exc.message) from None
    return {
        "level": level,
        "period": period,
        "by": metric,
        "as_of": today,
        "unit_id": root.id,
        "rankings": [r.as_dict() for r in rows],
        "red_list": rankings.red_list(current_user, root, today),
    }
