"""API: global search — what the caller may see that matches, ranked, one page at a time."""

from __future__ import annotations

from flask_login import current_user, login_required

from app.api import bp
from app.api.core import ApiError
from app.api.inputs import SearchQuery
from app.api.outputs import SearchPageOut
from app.search.queries import search as run_search
from app.search.tokens import QueryError, parse


@bp.route("/search")
@login_required
@bp.doc(summary="全局搜索：事项、进度反馈、走访、发现问题、整改事项、月末通报、单位（只含有权查看的）")
@bp.arguments(SearchQuery, location="query")
@bp.response(200, SearchPageOut)
@bp.errors(400, 401, 403)
def search(args: dict):
    """Ranked matches within the caller's scope; `kind` for one kind only."""
    try:
        query = parse(args["q"])
    except QueryError as exc:
        raise ApiError(exc.message) from None
    results = run_search(
        current_user, query, kind=args.get("kind"), page=args["page"], per_page=args["per_page"]
    )
    return {
        "q": query.text,
        "items": [
            {
                "kind": h.kind,
                "kind_label": h.kind_label,
                "id": h.object_id,
                "title": h.title,
                "snippet": h.snippet,
                "url": h.url,
            }
            for h in results.hits
        ],
        "counts": results.counts,
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "window": results.window,
    }
