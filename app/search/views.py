"""The results page: /search?q=…&kind=…&page=…"""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from app.search import bp, queries
from app.search.documents import KINDS
from app.search.tokens import Q_MAX, QueryError, parse

PAGE_MAX = 1000


def _page() -> int:
    raw = request.args.get("page", "1")
    return min(int(raw), PAGE_MAX) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 8 and int(raw) else 1


@bp.route("/search")
@login_required
def search_page():
    raw = request.args.get("q", "")
    kind = request.args.get("kind") or None
    context = {"q": raw[:Q_MAX], "kind": kind, "kinds": KINDS, "results": None, "error": None}
    if kind is not None and kind not in KINDS:
        context["error"] = "不支持的类别：只能是 " + "、".join(KINDS.values()) + "。"
        return render_template("search/results.html", **{**context, "kind": None}), 400
    if raw.strip():
        try:
            query = parse(raw)
        except QueryError as exc:
            context["error"] = exc.message
        else:
            context["results"] = queries.search(
                current_user, query, kind=kind, page=_page(), per_page=queries.PER_PAGE
            )
    return render_template("search/results.html", **context)
