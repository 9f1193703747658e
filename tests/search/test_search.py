"""Global search: a two-character Chinese word found in every kind, never an object
outside the caller's scope, the index in step with every write (and a rollback), bad
input answered clearly, and a bounded number of statements."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import delete, func, select, update

from app.discussion import watching
from app.extensions import db
from app.search import queries
from app.search.index import reindex
from app.search.models import SearchDocument
from app.search.tokens import parse
from app.tasks import services as task_services
from app.tasks.models import ProgressReport
from app.tasks.writing import NewItems
from app.timeutil import utcnow
from app.visits.models import Finding
from tests.search.conftest import found, keys

# kind → a two-character word only its document holds
WORDS = {
    "task": "国徽",
    "report": "门牌",
    "visit": "诉讼",
    "finding": "归档",
    "rectification": "卷宗",
    "circular": "先进",
    "unit": "西山",
}


def test_a_two_character_word_is_found_in_each_kind(world, as_user):
    """The high court's reviewer sees everything: each word finds its kind's object, and
    its page link."""
    client = as_user(world.reviewer)
    expected = {
        "task": world.task.id,
        "report": world.a1.id,
        "visit": world.visit.id,
        "finding": world.finding.id,
        "rectification": world.rectification.id,
        "circular": world.issued.id,
        "unit": world.tree.trib2.id,
    }
    for kind, word in WORDS.items():
        answer = found(client, word)
        assert (kind, expected[kind]) in keys(answer), (kind, word, answer)
        hit = next(i for i in answer["items"] if i["kind"] == kind)
        assert hit["url"].startswith("/")
    finding = found(client, "归档", kind="finding")["items"][0]
    assert finding["url"] == f"/visits/{world.visit.id}"
    # a word inside a longer run, and a longer phrase, are found; a word split apart is not
    assert ("task", world.task.id) in keys(found(client, "法庭标识"))
    assert ("task", world.task.id) not in keys(found(client, "标识国徽"))


def test_never_outside_the_callers_scope(world, as_user):
    """Another court's items, reports, visits, findings, rectifications are not found; a
    draft circular only by the reviewers of its court."""
    trib3 = as_user(world.trib3_head)  # under base2: none of trib1's or base1's things
    for word in ("门牌", "诉讼", "归档", "卷宗", "西山"):
        assert found(trib3, word)["total"] == 0, word
    base2 = as_user(world.base2_staff)  # received the item, did not report on it
    assert keys(found(base2, "国徽")) == {("task", world.task.id)}
    assert found(base2, "门牌")["total"] == 0
    other = as_user(world.base3_coord)  # another intermediate court's subtree
    for word in WORDS.values():
        assert found(other, word)["total"] == 0, word
    head = as_user(world.trib1_head)  # the visited tribunal: its rectification, not the item
    assert ("rectification", world.rectification.id) in keys(found(head, "卷宗"))
    assert found(head, "国徽")["total"] == 0
    # drafts: the reviewer above sees it, the assigner of the court itself does not
    assert ("circular", world.draft.id) in keys(found(as_user(world.reviewer), "批评"))
    assigner = as_user(world.assigner)
    assert found(assigner, "批评")["total"] == 0
    assert ("circular", world.issued.id) in keys(found(assigner, "先进"))


def test_results_are_grouped_paginated_and_highlighted(world, as_user):
    """Counts per kind, a kind filter, a page beyond the last, the words marked and
    everything else escaped."""
    client = as_user(world.reviewer)
    answer = found(client, "人民")
    assert answer["counts"]["unit"] == answer["total"] == 9
    page2 = found(client, "人民", per_page=5, page=2)
    assert len(page2["items"]) == 4 and page2["total"] == 9
    assert found(client, "人民", page=99)["items"] == []
    assert found(client, "人民", kind="task")["total"] == 0
    world.task.requirements = "统一悬挂国徽<script>alert(1)</script>"
    db.session.commit()
    html = client.get("/search", query_string={"q": "国徽"}).get_data(as_text=True)
    assert "<mark>国徽</mark>" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert client.get("/search", query_string={"q": "人民", "page": "99999999999"}).status_code == 200


def test_create_edit_delete_keep_the_index_in_step(world, as_user):
    """Each write shows at once: a new report, an edited title, a deleted finding, a
    renamed unit; the documents change in the writer's transaction."""
    client = as_user(world.reviewer)
    now = utcnow()
    db.session.add(
        ProgressReport(
            assignment_id=world.a2.id, author_id=world.base2_staff.id, text="完成测绘", created_at=now
        )
    )
    world.task.title = "规范法庭徽标"
    world.visit.summary = "座谈交流"
    world.issued.body = "通报表彰"
    world.tree.trib2.name = "北岭人民法庭"
    db.session.commit()
    assert ("report", world.a2.id) in keys(found(client, "测绘"))
    assert ("task", world.task.id) in keys(found(client, "徽标"))
    assert found(client, "标识")["total"] == 0
    assert ("rectification", world.rectification.id) in keys(found(client, "卷宗"))
    assert found(client, "诉讼")["total"] == 0 and found(client, "座谈")["total"] == 1
    assert found(client, "表彰")["total"] == 1 and found(client, "先进")["total"] == 0
    assert ("unit", world.tree.trib2.id) in keys(found(client, "北岭"))
    # deletes: the finding, then the only report of an assignment
    db.session.execute(delete(ProgressReport).where(ProgressReport.assignment_id == world.a2.id))
    db.session.delete(db.session.get(Finding, world.finding.id))
    db.session.commit()
    assert found(client, "归档", kind="finding")["total"] == 0
    # a Core delete bypasses the hook; `flask search reindex` catches up
    assert found(client, "测绘")["total"] == 1
    reindex(db.session.connection(), now=now)
    db.session.commit()
    assert found(client, "测绘")["total"] == 0
    assert ("report", world.a1.id) in keys(found(client, "门牌"))


def test_a_rollback_leaves_no_document(world):
    """A write rolled back takes its documents with it."""
    world.visit.summary = "走访群众"
    db.session.flush()
    assert db.session.scalar(select(func.count()).where(SearchDocument.body.contains("走访群众"))) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(SearchDocument.body.contains("走访群众"))) == 0
    assert db.session.scalar(select(func.count()).where(SearchDocument.body.contains("诉讼"))) == 1


@pytest.mark.parametrize(
    "q",
    [
        '国徽"',
        '"国徽',
        "国徽*",
        "*国徽",
        "NEAR(国徽",
        "国徽 OR",
        "OR 国徽",
        "国徽 AND NOT",
        "国徽:*",
        "国徽 & !",
        "国徽')",
    ],
)
def test_fts_syntax_is_just_text(world, as_user, q):
    """Quotes, stars, NEAR, OR, AND, NOT, tsquery operators: searched as text, 200."""
    client = as_user(world.reviewer)
    answer = found(client, q)
    has_words = any(w in q.lower() for w in ("near", "or", "and", "not"))
    assert keys(answer) == ({("task", world.task.id)} if not has_words else keys(answer))
    if not has_words:
        assert answer["total"] == 1
    assert client.get("/search", query_string={"q": q}).status_code == 200


def test_bad_input_is_answered_clearly(world, as_user):
    """One character, 10,000, NUL and control characters, an unknown kind."""
    client = as_user(world.reviewer)
    for q in ("国", "  国  ", '"', "**", "a"):
        resp = client.get("/api/v1/search", query_string={"q": q})
        assert resp.status_code == 400 and "请至少输入两个字" in resp.get_json()["error"], q
        page = client.get("/search", query_string={"q": q})
        assert page.status_code == 200 and "请至少输入两个字" in page.get_data(as_text=True), q
    resp = client.get("/api/v1/search", query_string={"q": "国" * 10_000})
    assert resp.status_code == 400 and "100" in resp.get_json()["error"]
    page = client.get("/search", query_string={"q": "国" * 10_000})
    assert page.status_code == 200 and "搜索内容过长" in page.get_data(as_text=True)
    assert client.get("/api/v1/search", query_string={"q": "国\x00徽"}).status_code == 400
    assert client.get("/search", query_string={"q": "国\x00徽"}).status_code == 400  # refused app-wide
    page = client.get("/search", query_string={"q": "国徽\x07\x1b"})
    assert page.status_code == 200 and "<mark>国徽</mark>" in page.get_data(as_text=True)
    assert ("task", world.task.id) in keys(found(client, "国\x07徽"))
    resp = client.get("/api/v1/search", query_string={"q": "国徽", "kind": "nope"})
    assert resp.status_code == 400 and "kind" in resp.get_json()["error"]
    page = client.get("/search", query_string={"q": "国徽", "kind": "nope"})
    assert page.status_code == 400 and "不支持的类别" in page.get_data(as_text=True)
    assert client.get("/api/v1/search").status_code == 400


def test_a_bounded_number_of_statements(world, as_user, count_queries):
    """The page and the API: ≤ 15 statements, whatever matches."""
    client = as_user(world.reviewer)
    for url in (
        "/search?q=人民",
        "/search?q=人民&kind=unit&page=2",
        "/api/v1/search?q=国徽",
        "/api/v1/search?q=人民法院",
    ):
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= 15, (url, len(statements), statements)


def test_the_migration_and_reindex_agree(world):
    """Rebuilding the index gives the documents the hooks wrote."""

    def rows():
        return set(
            db.session.execute(select(SearchDocument.kind, SearchDocument.object_id, SearchDocument.tokens))
        )

    before = rows()
    assert {k for k, _, _ in before} == set(WORDS)
    reindex(db.session.connection(), now=utcnow())
    assert rows() == before


def test_a_rebuilt_index_keeps_the_order_of_writing(world, monkeypatch):
    """After `reindex` the documents' ids follow when their objects were last written
    (a report on an assignment, an edit of an item or a visit, a unit renamed), as they
    do when the app writes them one by one — not kind after kind — so the newest
    matches, where a search's window is taken, are the most recently written. (A batch
    of REINDEX_BATCH objects is written kind by kind; here a batch is one object.)"""
    from app.org.models import Unit
    from app.reminders.models import Circular
    from app.search import index
    from app.tasks.models import Assignment, Task
    from app.visits.models import Visit

    def at(month: int, day: int = 1):
        return datetime(2026, month, day, 8, 0)

    db.session.execute(update(Unit).values(updated_at=at(1)))
    times = {
        ("task", world.task.id): at(5),
        ("report", world.a1.id): at(12),  # the newest: its last report
        ("rectification", world.rectification.id): at(9),
        ("visit", world.visit.id): at(3),
        ("finding", world.finding.id): at(10),
        ("circular", world.issued.id): at(4),
        ("circular", world.draft.id): at(11),
    }
    db.session.execute(update(Task).where(Task.id == world.task.id).values(updated_at=at(5)))
    for a in (world.a1, world.a2, world.rectification):
        db.session.execute(
            update(Assignment).where(Assignment.id == a.id).values(created_at=at(2), last_report_at=None)
        )
    db.session.execute(update(Assignment).where(Assignment.id == world.a1.id).values(last_report_at=at(12)))
    db.session.execute(
        update(Assignment).where(Assignment.id == world.rectification.id).values(created_at=at(9))
    )
    db.session.execute(update(Visit).where(Visit.id == world.visit.id).values(updated_at=at(3)))
    db.session.execute(update(Finding).where(Finding.id == world.finding.id).values(created_at=at(10)))
    db.session.execute(update(Circular).where(Circular.id == world.issued.id).values(created_at=at(4)))
    db.session.execute(update(Circular).where(Circular.id == world.draft.id).values(created_at=at(11)))
    db.session.commit()
    monkeypatch.setattr(index, "REINDEX_BATCH", 1)  # one object a batch: the order exactly
    reindex(db.session.connection(), now=utcnow())
    db.session.commit()
    written = [
        (d.kind, d.object_id) for d in db.session.scalars(select(SearchDocument).order_by(SearchDocument.id))
    ]
    units = [w for w in written if w[0] == "unit"]
    assert len(units) > 3 and written[: len(units)] == units  # written in January: the oldest
    rest = [w for w in written if w[0] != "unit"]
    assert rest == sorted(times, key=times.get), rest
    assert written[-1] == ("report", world.a1.id)


def test_items_imported_in_bulk_are_indexed(world, as_user):
    """An import writes its items with Core inserts (app.tasks.writing.NewItems): they are
    indexed in the same transaction all the same."""
    batch = NewItems()
    for n, title in enumerate(("诉前调解指导", "调解平台对接")):
        task_services.create_task(
            world.assigner,
            world.task.project,
            title=title,
            deadline=date(2026, 6, 30),
            source_key=f"k{n}",
            now=utcnow(),
            batch=batch,
        )
    batch.write()
    db.session.commit()
    assert found(as_user(world.reviewer), "调解")["total"] == 2


def test_an_upgraded_database_finds_its_old_data(tmp_path, backend):
    """Objects written before 0014 are indexed by the migration itself, the same documents
    `reindex` makes."""
    if backend != "sqlite":
        pytest.skip("the upgrade from 0013 is run on a SQLite file of its own")
    from flask_migrate import upgrade

    from app import create_app
    from tests import factories
    from tests.conftest import MIGRATIONS
    from tests.old_revision import models_fit

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite'}")
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0013_assessment_reads")
        with models_fit():  # users.auth_source (0018) and any later column
            tree = factories.build_tree()
            assigner = factories.user("old_assigner", tree.inter1, ["assigner"])
            (staff,) = factories.receivers(tree.base1)
            task = factories.task(
                assigner, factories.project(assigner), title="旧事项规范台账", requirements="逐月报送"
            )
            (a,) = factories.assign(assigner, task, tree.base1)
            db.session.add(
                ProgressReport(assignment_id=a.id, author_id=staff.id, text="已建立台账", created_at=utcnow())
            )
            # the watchers of what changed are told at commit (app.discussion, 0016): a
            # database at 0013 has no watches table yet
            db.session.info.pop(watching.PENDING, None)
            db.session.commit()
            task_id, a_id = task.id, a.id
        upgrade(directory=str(MIGRATIONS))
        migrated = set(
            db.session.execute(select(SearchDocument.kind, SearchDocument.object_id, SearchDocument.tokens))
        )
        assert ("task", task_id, "旧事 事项 项规 规范 范台 台账 逐月 月报 报送") in migrated
        assert ("report", a_id, "已建 建立 立台 台账") in migrated
        reindex(db.session.connection(), now=utcnow())
        assert (
            set(
                db.session.execute(
                    select(SearchDocument.kind, SearchDocument.object_id, SearchDocument.tokens)
                )
            )
            == migrated
        )
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_a_common_word_is_counted_within_a_window(world, as_user, app, monkeypatch):
    """Beyond SEARCH_WINDOW matches, counts and ranking are taken within the newest
    matches (“n+”, said on the page); never an object outside scope; a user who sees
    fewer than a page's worth there gets the exact answer (page 1 misses nothing)."""
    users = (world.reviewer, world.assigner, world.trib1_head, world.trib3_head, world.base3_coord)
    exact = {u.id: found(as_user(u), "人民", per_page=50) for u in users}
    assert exact[world.reviewer.id]["total"] == 9 and exact[world.reviewer.id]["window"] is None
    app.config["SEARCH_WINDOW"] = 4
    try:
        reviewer = as_user(world.reviewer)
        capped = found(reviewer, "人民", per_page=2)
        assert capped["window"] == 4 and capped["counts"] == {"unit": 4} and capped["total"] == 4
        one_kind = found(reviewer, "人民", kind="unit", per_page=2)  # a window of the kind's own
        assert one_kind["window"] == 4 and one_kind["total"] == 4 and len(one_kind["items"]) == 2
        monkeypatch.setattr(queries, "PER_PAGE", 2)
        html = reviewer.get("/search", query_string={"q": "人民"}).get_data(as_text=True)
        assert "4+" in html and "最近更新的 4 条匹配" in html
        for user in users:
            answer = found(as_user(user), "人民", per_page=2)
            assert keys(answer) <= keys(exact[user.id]), user.username  # never outside scope
            if answer["window"] is None:  # fewer than a page in the window: the exact answer
                assert answer["counts"] == exact[user.id]["counts"], user.username
                assert len(answer["items"]) == min(2, exact[user.id]["total"]), user.username
            else:  # a full first page from the window
                assert len(answer["items"]) == 2 and answer["total"] >= 2, user.username
        few = found(as_user(world.trib1_head), "人民", per_page=50)
        assert few["window"] is None and keys(few) == keys(exact[world.trib1_head.id])
    finally:
        app.config.pop("SEARCH_WINDOW")


def _newest_matches(q: str, size: int, kind: str | None) -> int | None:
    """The lowest id among the newest `size` documents matching `q` (of `kind`, when
    given), whoever may see them; None when fewer match."""
    stmt, _ = queries._matching(parse(q), SearchDocument.id)
    if kind:
        stmt = stmt.where(SearchDocument.kind == kind)
    ids = sorted(db.session.scalars(stmt), reverse=True)
    db.session.rollback()
    return ids[size - 1] if len(ids) > size else None


def _document_ids(answer: dict) -> list[int]:
    by_key = {(d.kind, d.object_id): d.id for d in db.session.scalars(select(SearchDocument))}
    db.session.rollback()
    return [by_key[(i["kind"], i["id"])] for i in answer["items"]]


def test_a_windowed_page_is_the_exact_ranking_within_the_window(world, as_user, app):
    """Each page taken within a window (listed by the window's own statement) is that
    page of the exact ranking — every match checked, best first — cut to the window's
    documents: the same order, nothing missing, nothing outside scope."""
    users = (world.reviewer, world.assigner, world.trib1_head, world.base2_staff)
    cases = [(q, {"kind": kind} if kind else {}) for q in ("人民", "法庭") for kind in (None, "unit", "task")]
    exact = {
        (u.id, q, str(k)): _document_ids(found(as_user(u), q, per_page=50, **k))
        for u in users
        for q, k in cases
    }
    app.config["SEARCH_WINDOW"] = 3
    try:
        windowed = 0
        for user in users:
            client = as_user(user)
            for q, k in cases:
                for page in (1, 2, 3):
                    answer = found(client, q, per_page=2, page=page, **k)
                    floor = None
                    if answer["window"] is not None:
                        windowed += 1
                        floor = _newest_matches(q, answer["window"], k.get("kind"))
                    within = [i for i in exact[(user.id, q, str(k))] if floor is None or i >= floor]
                    assert _document_ids(answer) == within[(page - 1) * 2 : page * 2], (
                        user.username,
                        q,
                        k,
                        page,
                    )
        assert windowed > 10  # windows were met, not only exact answers
    finally:
        app.config.pop("SEARCH_WINDOW")


def test_a_narrow_user_is_answered_in_one_statement(world, as_user, app, count_queries, backend):
    """A tribunal's head sees a few units: one statement of search documents, listing the
    page too, and the same answer as with every match checked. PostgreSQL reads it from
    his own documents, whatever the window (the exact answer: no window, no “n+”); SQLite
    starts with the wider window (WIDEN × SEARCH_WINDOW)."""
    exact = found(as_user(world.trib1_head), "人民", per_page=50)
    app.config["SEARCH_WINDOW"] = 2
    try:
        head = as_user(world.trib1_head)
        with count_queries() as statements:
            answer = found(head, "人民", per_page=50)
        searches = [s for s in statements if "search_documents" in s]
        assert len(searches) == 1, searches
        # SQLite: the wider window (16) holds every match of the word here
        assert ("search_window" in searches[0]) == (backend == "sqlite") and answer["window"] is None
        assert keys(answer) == keys(exact) and answer["counts"] == exact["counts"]
        reviewer = as_user(world.reviewer)  # sees the whole tree: starts with the first window
        with count_queries() as statements:
            found(reviewer, "人民", per_page=1)
        assert len([s for s in statements if "search_window" in s]) == 1
        assert len([s for s in statements if "search_documents" in s]) == 1
    finally:
        app.config.pop("SEARCH_WINDOW")


def test_own_documents_and_every_match_give_the_same_answer(world, as_user, app, monkeypatch):
    """The exact routes agree for every user, word, kind and page: everyone narrow
    (PostgreSQL: read from the user's own documents; SQLite: a window wider than every
    match) and nobody narrow (asking the policy of every match, no window) — the same
    counts, the same hits in the same order."""
    users = (
        world.reviewer,
        world.assigner,
        world.leader,
        world.base1_staff,
        world.base2_staff,
        world.trib1_head,
        world.trib3_head,
        world.base3_coord,
    )
    cases = [(q, kind, page) for q in ("人民", "法庭") for kind in (None, *WORDS) for page in (1, 2)]
    cases += [(q, None, 1) for q in WORDS.values()]
    app.config["SEARCH_WINDOW"] = 10**6

    def answers(narrow_units: int) -> list[dict]:
        monkeypatch.setattr(queries, "NARROW_UNITS", narrow_units)
        got = []
        for user in users:
            client = as_user(user)
            for q, kind, page in cases:
                got.append(found(client, q, per_page=2, page=page, **({"kind": kind} if kind else {})))
        return got

    try:
        every_match, own = answers(-1), answers(10**6)
        assert own == every_match
        assert sum(len(a["items"]) for a in own) > 100  # hits were compared, not only empty pages
        assert len({frozenset(a["counts"]) for a in own if a["counts"]}) > 5
    finally:
        app.config.pop("SEARCH_WINDOW")


def test_two_writers_of_one_document_take_turns(world, backend):
    """PostgreSQL: an item's title is edited in one transaction while a report on one of its
    assignments is changed in another; both rewrite that assignment's document. The second
    waits for the first to commit, then writes a document carrying both changes — no
    unique violation (the 500 a reporter once met), no change lost from the index."""
    if backend != "postgresql":
        pytest.skip("SQLite: a writing transaction holds the whole database's write lock")
    import threading
    import time

    from sqlalchemy import text, update

    from app.search.index import refresh
    from app.tasks.models import Task

    a_id, task_id = world.a1.id, world.task.id
    db.session.commit()
    engine = db.engine
    pids: list[int] = []
    errors: list[Exception] = []

    def second() -> None:
        with engine.connect() as conn:
            try:
                with conn.begin():
                    pids.append(conn.scalar(text("SELECT pg_backend_pid()")))
                    conn.execute(
                        update(ProgressReport)
                        .where(ProgressReport.assignment_id == a_id)
                        .values(text="丙丁反馈")
                    )
                    refresh(conn, {"assignment": {a_id}}, now=utcnow())
            except Exception as exc:  # noqa: BLE001 — the test reports whatever the second met
                errors.append(exc)

    with engine.connect() as first, engine.connect() as watcher:
        tx = first.begin()
        first.execute(update(Task).where(Task.id == task_id).values(title="甲乙标题"))
        refresh(first, {"assignment": {a_id}}, now=utcnow())
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        waiting = None
        deadline = time.monotonic() + 20
        while waiting != "Lock" and time.monotonic() < deadline:
            time.sleep(0.05)
            if pids:
                waiting = watcher.scalar(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pids[0]}
                )
            watcher.rollback()
        assert waiting == "Lock", f"the second writer did not wait for the first: {errors}"
        tx.commit()
        thread.join(timeout=20)
    assert not thread.is_alive() and errors == [], errors
    db.session.expire_all()
    doc = db.session.scalars(
        select(SearchDocument).where(SearchDocument.kind == "report", SearchDocument.object_id == a_id)
    ).one()
    assert "甲乙标题" in doc.title and "丙丁反馈" in doc.body, (doc.title, doc.body)


def test_a_large_batch_needs_no_room_in_the_lock_table(world, backend):
    """PostgreSQL: rewriting the documents of 1,500 objects in one transaction (an import,
    a unit tree loaded at once) holds a handful of entries in the server's shared lock
    table, not one per object (that table holds 64 per connection by default; an advisory
    lock per document once ran a province's reindex out of it)."""
    if backend != "postgresql":
        pytest.skip("SQLite: a writing transaction holds the whole database's write lock")
    from sqlalchemy import insert, text

    from app.org.models import Unit
    from app.search.index import refresh

    rows = [
        {
            "name": f"批量单位{i}",
            "level": "tribunal",
            "parent_id": world.tree.base1.id,
            "created_at": utcnow(),
        }
        for i in range(1500)
    ]
    with db.engine.connect() as conn, conn.begin():
        ids = list(conn.scalars(insert(Unit).returning(Unit.id), rows))
        refresh(conn, {"unit": set(ids)}, now=utcnow())
        held = conn.scalar(text("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()"))
        made = conn.scalar(
            select(func.count()).select_from(SearchDocument).where(SearchDocument.kind == "unit")
        )
    assert held < 64, held
    assert made >= 1500
