"""The search itself: documents matching the query, only those the user may see (each
kind restricted to `authz.scope` of its model, in SQL), ranked (SQLite: FTS5's bm25;
PostgreSQL: ts_rank), counted per kind, one page at a time. Three statements after the
user's visible units: the counts per kind, and the page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import and_, case, column, false, func, literal_column, or_, select, table, text, union_all

from app import authz
from app.extensions import db
from app.org.models import Unit
from app.reminders.models import Circular
from app.search.documents import KINDS
from app.search.models import FTS_TABLE, SearchDocument
from app.search.policy import seen_with_its_visit
from app.search.tokens import Query, highlight
from app.tasks.models import Assignment, Task
from app.visits.models import Finding, Visit

PER_PAGE = 20
SNIPPET = 120
# A word common across the province (法庭, 整改) matches tens of thousands of documents;
# checking each against the policy and scoring each costs hundreds of ms. Beyond this many
# matches, counts and ranking are taken within the most recently written WINDOW matches
# (config SEARCH_WINDOW), said so on the page; see `search`.
WINDOW = 1000
# a user who sees less than a page's worth there (a tribunal's head) gets a window this
# many times wider before every match is checked
WIDEN = 8
# users who see at most this many units (a tribunal, a base court and its tribunals) start
# with the wider window
NARROW_UNITS = 8
SD = SearchDocument
_MODELS = {
    "task": Task,
    "report": Assignment,
    "rectification": Assignment,
    "visit": Visit,
    "finding": Finding,
    "circular": Circular,
    "unit": Unit,
}
_FTS = table(FTS_TABLE, column("rowid"))
_PAGES = {
    "task": ("tasks.task_detail", "task_id", "object_id"),
    "report": ("tasks.assignment_detail", "assignment_id", "object_id"),
    "rectification": ("tasks.assignment_detail", "assignment_id", "object_id"),
    "visit": ("visits.visit_detail", "visit_id", "object_id"),
    "finding": ("visits.visit_detail", "visit_id", "parent_id"),
    "circular": ("reminders.circular_detail", "circular_id", "object_id"),
    "unit": ("org.unit_detail", "unit_id", "object_id"),
}


@dataclass
class Hit:
    kind: str
    object_id: int
    title: str
    body: str
    url: str
    words: list[str]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def title_html(self) -> Markup:
        return highlight(self.title, self.words)

    @property
    def snippet_html(self) -> Markup:
        return highlight(self.body, self.words, width=SNIPPET)

    @property
    def snippet(self) -> str:
        return str(self.snippet_html.striptags()) if self.body else ""


@dataclass
class Results:
    hits: list[Hit]
    counts: dict[str, int]
    page: int
    per_page: int
    kind: str | None
    # counted and ranked only within the newest `window` matches (None: all of them)
    window: int | None = None
    # the kinds whose count is taken within the window: a lower bound, shown “n+”
    capped: set[str] = field(default_factory=set)
    total: int = field(init=False)

    def __post_init__(self):
        self.total = self.counts.get(self.kind, 0) if self.kind else sum(self.counts.values())

    def more(self, kind: str | None = None) -> str:
        """'+' after a count that is a lower bound (of a kind; without one, of the sum)."""
        return "+" if (kind in self.capped if kind else self.capped) else ""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return min(self.page - 1, self.pages)

    @property
    def next_num(self) -> int:
        return self.page + 1


def visible(user: Any, kinds: tuple[str, ...], docs: Any = SD) -> Any:
    """Documents of these kinds whose objects the user may see: the policy's own clause
    (authz.scope), asked of each matching document's object (EXISTS on its primary key)
    rather than as the list of every visible id — at the top of a province that list is
    every item and assignment (≈ 1.5 s to build on SQLite), while a query matches a few
    thousand documents at most."""
    clauses = []
    for kind in kinds:
        if kind == "finding":
            # the policy's own rule for a finding (app.search.policy), asked of the visit
            # its document names (parent_id): PostgreSQL otherwise hashed every visible
            # finding of the province for each statement (20,000 findings joined to their
            # visits, 5.6 ms a statement at the top of a province)
            clauses.append(and_(docs.kind == kind, seen_with_its_visit(user, docs.parent_id)))
            continue
        model = _MODELS[kind]
        mine = authz.scope(select(model.id).where(model.id == docs.object_id), model, user)
        clauses.append(and_(docs.kind == kind, mine.exists()))
    return or_(*clauses) if clauses else false()


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _matching(query: Query, *columns: Any) -> tuple[Any, Any]:
    """SELECT of the matching documents' columns, and the rank to order them by (lower is
    better)."""
    if _is_postgresql():
        tsq = func.to_tsquery(literal_column("'simple'::regconfig"), query.tsquery())
        rank = -func.ts_rank(SD.tsv, tsq)
        return select(*columns).where(SD.tsv.op("@@")(tsq)), rank
    rank = func.bm25(literal_column(FTS_TABLE))
    stmt = select(*columns).select_from(_FTS).join(SD, SD.id == _FTS.c.rowid).where(_match(query))
    return stmt, rank


def _match(query: Query) -> Any:
    return text(f"{FTS_TABLE} MATCH :match").bindparams(match=query.fts5())


def _ids() -> Any:
    """The matching document's id as the full-text index holds it (on SQLite FTS5's
    rowid: bounding by it narrows FTS5's own scan, reading no document)."""
    return SD.id if _is_postgresql() else _FTS.c.rowid


def _window_counts(
    query: Query, user: Any, size: int, kind: str | None = None
) -> tuple[int | None, dict[str, int]]:
    """The newest `size` matches' lower bound (None when fewer match) and what the user
    may see among them, per kind (of `kind` alone, when given) — in one statement: the
    window (each match's id, kind, object and parent, newest first) is read once, as a CTE used
    twice, where finding its bound first and then counting from it read the full-text
    index twice (15 ms each for a window of 8,000 on SQLite)."""
    stmt, _ = _matching(query, SD.id, SD.kind, SD.object_id, SD.parent_id)
    if kind is not None:
        stmt = stmt.where(SD.kind == kind)
    win = stmt.order_by(_ids().desc()).limit(size).cte("search_window")
    bound = select(literal_column("NULL").label("kind"), func.count(), func.min(win.c.id)).select_from(win)
    per_kind = (
        select(win.c.kind, func.count(), literal_column("NULL"))
        .where(visible(user, (kind,) if kind else tuple(KINDS), win.c))
        .group_by(win.c.kind)
    )
    floor, counts = None, {}
    for found, n, lowest in db.session.execute(union_all(bound, per_kind)):
        if found is None:
            floor = lowest if n >= size else None
        else:
            counts[found] = n
    return floor, counts


def _counts(query: Query, scoped: Any) -> dict[str, int]:
    """What the user may see of every match, per kind (no window)."""
    stmt, _ = _matching(query, SD.kind, func.count())
    return {k: n for k, n in db.session.execute(stmt.where(scoped).group_by(SD.kind))}


def search(
    user: Any, query: Query, *, kind: str | None = None, page: int = 1, per_page: int = PER_PAGE
) -> Results:
    """One page of what the user may see that matches, best first, and the count per kind.

    Few matches (≤ SEARCH_WINDOW): every match is checked, counted and ranked. More: only
    the newest SEARCH_WINDOW matches are (one FTS5 / GIN look-up finds the bound; their
    counts are lower bounds, “n+”, and the page says so); a kind asked for gets a window
    of its own. Whenever a window holds less than the first page's worth of what the user
    may see, a window WIDEN times wider is tried (all kinds), then every match (of the
    kind) is checked: page 1 never misses anything the user may see."""
    size = first = current_app.config.get("SEARCH_WINDOW", WINDOW)
    if len(authz.visible_unit_ids(user)) <= NARROW_UNITS:
        # a tribunal's or a small court's people see about one match in a hundred: the
        # first window would hold less than a page for them, so start with the wider one
        size = first * WIDEN
    scoped = visible(user, tuple(KINDS))
    while True:
        floor, counts = _window_counts(query, user, size)
        if floor is None or kind is not None or sum(counts.values()) >= per_page:
            break
        if size >= first * WIDEN:  # too few even there: every match
            floor = None
            counts = _counts(query, scoped)
            break
        size *= WIDEN
    capped = set(KINDS) if floor is not None else set()
    if kind is not None and floor is not None:
        floor, mine_counted = _window_counts(query, user, size, kind)
        mine = visible(user, (kind,))
        counts[kind] = mine_counted.get(kind, 0)
        if floor is not None and counts[kind] < per_page:
            floor = None
            counts[kind] = _counts(query, mine).get(kind, 0)
        if floor is None:
            capped.discard(kind)
    counts = {k: n for k, n in counts.items() if n}
    hits: list[Hit] = []
    wanted = counts.get(kind, 0) if kind else sum(counts.values())
    if wanted > (page - 1) * per_page:
        listed, rank = _matching(query, SD.kind, SD.object_id, SD.parent_id, SD.title, SD.body)
        listed = listed.where(visible(user, (kind,)) if kind else scoped)
        if floor is not None:
            listed = listed.where(_ids() >= floor)
        # Units are the directory: in the list of every kind they follow the work itself
        # (bm25 favours their few words over an item's title and requirements).
        directory_last = case((SD.kind == "unit", 1), else_=0)
        rows = db.session.execute(
            listed.order_by(directory_last, rank, SD.id).limit(per_page).offset((page - 1) * per_page)
        )
        words = query.words()
        for r in rows:
            endpoint, arg, attr = _PAGES[r.kind]
            url = url_for(endpoint, **{arg: getattr(r, attr)})
            hits.append(Hit(r.kind, r.object_id, r.title, r.body, url, words))
    return Results(hits, counts, page, per_page, kind, size if capped else None, capped)
