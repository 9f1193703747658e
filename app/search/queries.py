"""The search itself: documents matching the query, only those the user may see (each
kind restricted to `authz.scope` of its model, in SQL), ranked (SQLite: FTS5's bm25;
PostgreSQL: ts_rank), counted per kind, one page at a time. After the user's visible
units, one statement counts within a window of the newest matches and lists the page
(a kind chosen: a second, over the kind's own window); every match is read only when a
window holds too little. A narrow user's (a tribunal's) are read from his own documents
on PostgreSQL, and are the window's documents among his own on SQLite (`search`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import (
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    column,
    func,
    literal_column,
    null,
    or_,
    select,
    table,
    text,
    union_all,
)

from app import authz
from app.extensions import db
from app.org.models import Unit
from app.reminders.models import Circular
from app.search.documents import KINDS
from app.search.models import FTS_TABLE, SearchDocument
from app.search.policy import findings_seen, seen_with_its_visit
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


def visible(user: Any, kind: str | None, docs: Any = SD) -> Any:
    """Documents (of `kind`; None: of every kind) whose objects the user may see: the
    policy asked of each matching document's object (`authz.sees_id`: EXISTS on its
    primary key) rather than as the list of every visible id — at the top of a province
    that list is every item and assignment (≈ 1.5 s to build on SQLite), while a query
    matches a few thousand documents at most."""
    clauses = []
    for each in (kind,) if kind else tuple(KINDS):
        if each == "finding":
            # the policy's own rule for a finding (app.search.policy), asked of the visit
            # its document names (parent_id): PostgreSQL otherwise hashed every visible
            # finding of the province for each statement (20,000 findings joined to their
            # visits, 5.6 ms a statement at the top of a province)
            clauses.append(and_(docs.kind == each, seen_with_its_visit(user, docs.parent_id)))
            continue
        clauses.append(and_(docs.kind == each, authz.sees_id(_MODELS[each], user, docs.object_id)))
    return or_(*clauses)


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _matching(query: Query, *columns: Any) -> tuple[Any, Any]:
    """SELECT of the matching documents' columns, and the rank to order them by (lower is
    better)."""
    if _is_postgresql():
        return select(*columns).where(SD.tsv.op("@@")(_tsquery(query))), _ts_rank(query)
    rank = func.bm25(literal_column(FTS_TABLE))
    stmt = select(*columns).select_from(_FTS).join(SD, SD.id == _FTS.c.rowid).where(_match(query))
    return stmt, rank


def _tsquery(query: Query) -> Any:
    return func.to_tsquery(literal_column("'simple'::regconfig"), query.tsquery())


def _ts_rank(query: Query) -> Any:
    """PostgreSQL's rank of a document (lower is better), asked of any row of SD."""
    return -func.ts_rank(SD.tsv, _tsquery(query))


def _order(rank: Any, row: Any = SD) -> tuple[Any, ...]:
    """Units are the directory: in the list of every kind they follow the work itself
    (bm25 favours their few words over an item's title and requirements); then best first
    (`row`: the documents, or a subquery of them with their kind and id)."""
    return case((row.kind == "unit", 1), else_=0), rank, row.id


def _match(query: Query) -> Any:
    return text(f"{FTS_TABLE} MATCH :match").bindparams(match=query.fts5())


def _ids() -> Any:
    """The matching document's id as the full-text index holds it (on SQLite FTS5's
    rowid: bounding by it narrows FTS5's own scan, reading no document)."""
    return SD.id if _is_postgresql() else _FTS.c.rowid


@dataclass
class Page:
    """Which page of which kind (None: of every kind) a search statement lists."""

    kind: str | None
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _window_counts(
    query: Query,
    user: Any,
    size: int,
    kind: str | None = None,
    page: Page | None = None,
    narrow: bool = False,
) -> tuple[int | None, dict[str, int], list[_Listed] | None]:
    """The newest `size` matches' lower bound (None when fewer match), what the user
    may see among them, per kind (of `kind` alone, when given), and — when `page` is
    given — that page of it, best first (otherwise None).

    One statement: the window (each match's id, kind, object and parent, newest first) is
    read once, as a CTE, where finding its bound first and then counting from it read the
    full-text index twice (15 ms each for a window of 8,000 on SQLite). What the user may
    see of it is counted and ranked for the page from the same rows (`_answer`), where a
    statement of its own matched the word again (PostgreSQL: the GIN index's every match,
    18,000 for 法庭 on a province) and asked the policy again of the whole window. A
    narrow user's share of the window is the window's documents among his own
    (`_own_documents`, a few thousand ids read once), not the policy asked of each of
    the window's 8,000 documents (SQLite, a tribunal head: ~75 → ~20 ms)."""
    stmt, _ = _matching(query, SD.id, SD.kind, SD.object_id, SD.parent_id)
    if kind is not None:
        stmt = stmt.where(SD.kind == kind)
    win = stmt.order_by(_ids().desc()).limit(size).cte("search_window")
    bound = select(
        cast(null(), String).label("kind"), func.count().label("n"), func.min(win.c.id).label("lowest")
    )
    mine = win.c.id.in_(_own_documents(user, kind)) if narrow else visible(user, kind, win.c)
    seen = select(win.c.id, win.c.kind).where(mine)
    head, counts, rows = _answer(query, seen, page, bound.select_from(win))
    n, lowest = head
    return (lowest if n >= size else None), counts, rows


def _exact(
    query: Query, user: Any, kind: str | None, page: Page, narrow: bool
) -> tuple[dict[str, int], list[_Listed]]:
    """Every match the user may see (of `kind`, when given), counted per kind, and the
    page of them, best first — in one statement. A narrow user's are read from his own
    documents (PostgreSQL, `_mine`) or are the matches among them (SQLite); anyone
    else's by asking the policy of every match."""
    if narrow and _is_postgresql():
        seen = _mine(query, user, kind)
    else:
        seen, _ = _matching(query, SD.id, SD.kind)
        seen = seen.where(SD.id.in_(_own_documents(user, kind)) if narrow else visible(user, kind))
        if kind is not None:
            seen = seen.where(SD.kind == kind)
    _, counts, rows = _answer(query, seen, page)
    return counts, rows or []


def _mine(query: Query, user: Any, kind: str | None) -> Any:
    """PostgreSQL: the matching documents of what the user may see, read from that side,
    with their rank: per kind (of `kind` alone, when given), the objects the policy lets
    him see (`authz.visible_ids` of the kind's model; a finding's, those of the visits
    he may see), their documents by (kind, object_id), those whose vector matches. A
    tribunal's head sees some thousands of documents where a common word matches tens of
    thousands on a province and hundreds of thousands in a country, nearly none of them
    his: asking the policy of each match grew with the country (381 ms p95 at nation
    scale), this does not. (SQLite's FTS5 finds a document's rank only by seeking it in
    each word's doclist, 0.34 ms a document on a province: there a narrow user starts
    with the wider window instead, `search`.)"""
    ranked = select(SD.id, SD.kind, _ts_rank(query).label("rank")).where(SD.tsv.op("@@")(_tsquery(query)))
    return _per_kind(ranked, user, kind)


def _own_documents(user: Any, kind: str | None) -> Any:
    """SELECT of the ids of the documents of what the user may see (of `kind`, when given)."""
    return _per_kind(select(SD.id), user, kind)


def _per_kind(documents: Any, user: Any, kind: str | None) -> Any:
    """`documents` (a SELECT from SD) of the objects the user may see, per kind (of `kind`
    alone, when given) as a UNION ALL: the ids the policy lets him see
    (`authz.visible_ids` of the kind's model; a finding's, those of the visits he may
    see), their documents by (kind, object_id)."""
    parts = []
    for each in (kind,) if kind else tuple(KINDS):
        ids = findings_seen(user) if each == "finding" else authz.visible_ids(_MODELS[each], user)
        parts.append(documents.where(SD.kind == each, SD.object_id.in_(ids)))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def _answer(
    query: Query, seen: Any, page: Page | None, head: Any = None
) -> tuple[Any, dict[str, int], list[_Listed] | None]:
    """Runs one statement over `seen` (a SELECT of the ids and kinds of the documents the
    user may see that match): `head`'s row first (the window's bound: kind NULL, then its
    n and lowest id), then the count per kind, then — when `page` is given — the page,
    best first (`_ranked`). Returns head's (n, lowest) (None without one), the counts and
    the page (None without one)."""
    seen = seen.cte("search_seen")
    # a page's columns, empty in the rows of counts (typed: PostgreSQL types a column of
    # bare NULLs in the first parts of a UNION as text, before it meets the page's)
    no_page = (cast(null(), Integer), cast(null(), Integer), cast(null(), String), cast(null(), Text))
    per_kind = select(seen.c.kind, func.count(), cast(null(), Integer), *no_page).group_by(seen.c.kind)
    parts = [per_kind]
    if head is not None:
        parts.insert(0, head.add_columns(*no_page))
    if page is not None:
        parts.append(_ranked(query, page, seen))
    first, counts, listed_rows = None, {}, []
    # three sorts of rows, told apart by their empty columns: the head's (no kind), a
    # count (kind and n), a row of the page (kind, no n; `lowest` its place on the page)
    for row in db.session.execute(union_all(*parts)):
        found, n, lowest = row[:3]
        if found is None:
            first = (n, lowest)
        elif n is None:
            listed_rows.append(row)
        else:
            counts[found] = n
    listed_rows.sort(key=lambda row: row[2])
    return first, counts, ([_Listed(r[0], *r[3:]) for r in listed_rows] if page is not None else None)


def _ranked(query: Query, page: Page, seen: Any) -> Any:
    """The page of the documents in `seen` (a CTE of ids and kinds), best first, as rows
    of the window's statement: (kind, NULL, place on the page, object, parent, title,
    body). PostgreSQL ranks them by their own vectors; SQLite's bm25 exists only inside an
    FTS5 query, which is bounded by the lowest id in `seen` (FTS5 reads no older match)
    and keeps only those ids."""
    columns = (SD.kind, SD.object_id, SD.parent_id, SD.title, SD.body)
    if "rank" in seen.c:  # ranked already, document by document (`_mine`)
        listed, rank = select(*columns).join(seen, seen.c.id == SD.id), seen.c.rank
    elif _is_postgresql():
        listed, rank = select(*columns).join(seen, seen.c.id == SD.id), _ts_rank(query)
    else:
        listed, rank = _matching(query, *columns)
        lowest = select(func.min(seen.c.id)).scalar_subquery()
        listed = listed.where(_FTS.c.rowid >= lowest, SD.id.in_(select(seen.c.id)))
    if page.kind is not None:
        listed = listed.where(SD.kind == page.kind)
    # the place on the page is numbered outside the page's own query: bm25 is refused
    # inside a window function
    c = listed.add_columns(SD.id, rank.label("rank")).order_by(*_order(rank))
    c = c.limit(page.size).offset(page.offset).subquery().c
    place = func.row_number().over(order_by=_order(c.rank, c))
    return select(c.kind, literal_column("NULL"), place, c.object_id, c.parent_id, c.title, c.body)


@dataclass
class _Listed:
    kind: str
    object_id: int
    parent_id: int | None
    title: str
    body: str


def search(
    user: Any, query: Query, *, kind: str | None = None, page: int = 1, per_page: int = PER_PAGE
) -> Results:
    """One page of what the user may see that matches, best first, and the count per kind.

    On PostgreSQL a narrow user (a tribunal, a base court and its tribunals:
    ≤ NARROW_UNITS units) is answered exactly, from his own documents (`_mine`; on SQLite
    he starts with the wider window below). Anyone else: few matches
    (≤ SEARCH_WINDOW) are every one checked, counted and ranked; more, only the newest
    SEARCH_WINDOW matches are (their counts are lower bounds, “n+”, and the page says so);
    a kind asked for gets a window of its own. Whenever a window holds less than the
    first page's worth of what the user may see, a window WIDEN times wider is tried (all
    kinds), then every match (of the kind) is checked: page 1 never misses anything the
    user may see."""
    wanted_page = Page(kind, page, per_page)
    narrow = len(authz.visible_unit_ids(user)) <= NARROW_UNITS
    if narrow and _is_postgresql():
        # every kind counted (the tabs), the page of the one asked for
        counts, rows = _exact(query, user, None, wanted_page, narrow=True)
        return _results(query, rows, counts, wanted_page, None, set())
    size = first = current_app.config.get("SEARCH_WINDOW", WINDOW)
    if narrow:
        # SQLite: a tribunal's or a small court's people see about one match in a hundred:
        # the first window would hold less than a page for them, so start with the wider one
        size = first * WIDEN
    while True:
        # the every-kind window lists the page too, unless a kind has a window of its own
        floor, counts, rows = _window_counts(
            query, user, size, page=None if kind else wanted_page, narrow=narrow
        )
        if floor is None or kind is not None or sum(counts.values()) >= per_page:
            break
        if size >= first * WIDEN:  # too few even there: every match
            floor = None
            counts, rows = _exact(query, user, None, wanted_page, narrow)
            break
        size *= WIDEN
    capped = set(KINDS) if floor is not None else set()
    if kind is not None and floor is not None:
        floor, mine_counted, rows = _window_counts(query, user, size, kind, wanted_page, narrow)
        counts[kind] = mine_counted.get(kind, 0)
        if floor is not None and counts[kind] < per_page:
            floor = None
            every, rows = _exact(query, user, kind, wanted_page, narrow)
            counts[kind] = every.get(kind, 0)
        if floor is None:
            capped.discard(kind)
    if rows is None:  # every match counted above (fewer than a window); the kind's page
        wanted = counts.get(kind, 0) > wanted_page.offset
        rows = _exact(query, user, kind, wanted_page, narrow)[1] if wanted else []
    return _results(query, rows, counts, wanted_page, size if capped else None, capped)


def _results(
    query: Query,
    rows: list[_Listed],
    counts: dict[str, int],
    page: Page,
    window: int | None,
    capped: set[str],
) -> Results:
    words = query.words()
    hits = []
    for r in rows:
        endpoint, arg, attr = _PAGES[r.kind]
        url = url_for(endpoint, **{arg: getattr(r, attr)})
        hits.append(Hit(r.kind, r.object_id, r.title, r.body, url, words))
    counts = {k: n for k, n in counts.items() if n}
    return Results(hits, counts, page.number, page.size, page.kind, window, capped)
