"""What is measured: each page and API list, whose eyes it is seen through, and the
bound it must meet (the targets of issue 11)."""

from __future__ import annotations

from urllib.parse import quote

from bench.client import Client
from bench.targets import FAST, PAGE, ROLLUP, Target, deep_page

Page = tuple[str, str, Target, Client, str]  # key, label, target, who, path


def pages(ids: dict, c: dict[str, Client]) -> list[Page]:
    """Every page and API list, in the order they are measured."""
    bx = ids["assigner"]["unit_id"]
    out: list[Page] = [
        ("home", "首页 /（庭长）", PAGE, c["head"], "/"),
        ("my", "我的工作 /my（庭长）", FAST, c["head"], "/my"),
        ("today", "今日工作 /today（庭长）", FAST, c["head"], "/today"),
        (
            "list-subtree-overdue",
            "事项承办：中院子树 + 逾期，第 1 页（中院专班）",
            FAST,
            c["assigner"],
            f"/assignments?unit={bx}&status=overdue",
        ),
        (
            "list-province-overdue",
            "事项承办：全省逾期，第 1 页（强基办）",
            FAST,
            c["reviewer"],
            "/assignments?status=overdue",
        ),
        (
            "list-province-overdue-p200",
            "事项承办：全省逾期，第 200 页",
            deep_page("list-province-overdue"),
            c["reviewer"],
            "/assignments?status=overdue&page=200",
        ),
    ]
    if ids.get("project"):
        p = ids["project"]
        out.append(
            (
                "project",
                f"项目页 /projects/{p['id']}（{p['assignments']} 项承办）",
                FAST,
                c["reviewer"],
                f"/projects/{p['id']}",
            )
        )
    if ids.get("item"):
        i = ids["item"]
        out.append(
            (
                "item",
                f"事项页 /assignments/{i['id']}（{i['reports']} 条进度反馈）",
                PAGE,
                c["reviewer"],
                f"/assignments/{i['id']}",
            )
        )
    out += [
        ("completion", "完成清单 /completion（全省）", ROLLUP, c["reviewer"], "/completion"),
        ("dashboard", "看板 /dashboard（全省）", ROLLUP, c["reviewer"], "/dashboard"),
        ("rankings", "排名 /rankings", ROLLUP, c["reviewer"], "/rankings"),
        ("trends", "趋势 /trends", PAGE, c["reviewer"], "/trends"),
        ("coverage", "走访覆盖 /visits/coverage（全省）", PAGE, c["reviewer"], "/visits/coverage"),
        ("matrix", "对标对表 /checklists/matrix（全省）", PAGE, c["reviewer"], "/checklists/matrix"),
        ("wall", "上墙显示屏 /wall/…（全省）", PAGE, c["anonymous"], f"/wall/{ids['wall_token']}"),
        # the case-quality indicators (issue 14): the same targets as the other pages
        (
            "ind-compliance",
            "质效达标情况 /indicators/compliance（全省）",
            PAGE,
            c["reviewer"],
            "/indicators/compliance",
        ),
        (
            "ind-ranking",
            "质效指标排名 /indicators/ranking（基层法院）",
            PAGE,
            c["reviewer"],
            "/indicators/ranking?level=base",
        ),
        ("ind-trend", "质效趋势 /indicators/trend（全省 12 个月）", PAGE, c["reviewer"], "/indicators/trend"),
        ("ind-values", "质效数值填报 /indicators/values（中院）", FAST, c["assigner"], "/indicators/values"),
        (
            "api-assignments-subtree",
            "API /api/v1/assignments：中院子树 + 逾期",
            FAST,
            c["assigner-api"],
            f"/api/v1/assignments?unit={bx}&status=overdue",
        ),
        (
            "api-assignments-p1",
            "API /api/v1/assignments：全省逾期第 1 页（每页 50）",
            FAST,
            c["reviewer-api"],
            "/api/v1/assignments?status=overdue&per_page=50",
        ),
        (
            "api-assignments-p200",
            "API /api/v1/assignments：全省逾期第 200 页",
            deep_page("api-assignments-p1"),
            c["reviewer-api"],
            "/api/v1/assignments?status=overdue&per_page=50&page=200",
        ),
        (
            "api-notifications",
            "API /api/v1/notifications（庭长）",
            FAST,
            c["head-api"],
            "/api/v1/notifications",
        ),
        ("api-units", "API /api/v1/units（全省）", PAGE, c["reviewer-api"], "/api/v1/units"),
        (
            "api-completion",
            "API /api/v1/completion-list（全省）",
            ROLLUP,
            c["reviewer-api"],
            "/api/v1/completion-list",
        ),
        ("api-dashboard", "API /api/v1/dashboard（全省）", ROLLUP, c["reviewer-api"], "/api/v1/dashboard"),
        ("api-rankings", "API /api/v1/rankings", ROLLUP, c["reviewer-api"], "/api/v1/rankings"),
        ("api-checklists", "API /api/v1/checklists", FAST, c["reviewer-api"], "/api/v1/checklists"),
        (
            "api-indicator-values",
            "API /api/v1/indicator-values（全省汇总）",
            FAST,
            c["reviewer-api"],
            "/api/v1/indicator-values",
        ),
        (
            "api-indicator-compliance",
            "API /api/v1/indicators/compliance（全省）",
            PAGE,
            c["reviewer-api"],
            "/api/v1/indicators/compliance",
        ),
        # global search (issue 15): the whole province's reviewer (every document in scope)
        # and a tribunal head (a small scope), a common word and a rarer one
        ("search", "搜索 /search?q=法庭（全省，强基办）", FAST, c["reviewer"], "/search?q=" + quote("法庭")),
        ("search-head", "搜索 /search?q=法庭（庭长）", FAST, c["head"], "/search?q=" + quote("法庭")),
        (
            "search-kind",
            "搜索 /search?q=整改&kind=rectification，第 2 页（全省）",
            FAST,
            c["reviewer"],
            "/search?q=" + quote("整改") + "&kind=rectification&page=2",
        ),
        (
            "api-search",
            "API /api/v1/search?q=法庭（全省）",
            FAST,
            c["reviewer-api"],
            "/api/v1/search?q=" + quote("法庭"),
        ),
        (
            "api-coverage",
            "API /api/v1/visits/coverage（全省）",
            PAGE,
            c["reviewer-api"],
            "/api/v1/visits/coverage",
        ),
    ]
    return out


# The roll-ups keep their results under the tally version (app.dashboard.tallies): a
# repeated request reads them back. These are measured again with a change made just
# before each request (the version raised, as any item's change raises it), so the table
# shows both what a reader pays while nothing changes and what the first reader after a
# change pays.
AFTER_CHANGE = ("completion", "dashboard", "rankings", "trends", "api-dashboard")


def after_change(measured: list[Page]) -> list[Page]:
    """The roll-up pages again, under `key-changed`, for a request after each change."""
    return [
        (f"{key}-changed", f"{label}（每次请求前改动数据，不用留存结果）", target, client, path)
        for key, label, target, client, path in measured
        if key in AFTER_CHANGE
    ]
