"""The assignment list loads a page's ids first, then those rows: every sort gives the
same rows in the same order as the one-step query, page after page, with the right total,
and the number of statements does not depend on how deep the page is (issue 11)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.tasks.models import Assignment
from app.tasks.queries import SORTS, AssignmentFilters, assignments_query
from tests import factories


@pytest.fixture
def many(db, tree):
    u = factories.task_users(tree)
    p = factories.project(u.reviewer)
    for i in range(23):
        t = factories.task(
            u.reviewer, p, title=f"事项{(i * 7) % 23:02d}", deadline=date(2026, 3, 1) + timedelta(i % 5)
        )
        factories.assign(u.reviewer, t, *([tree.inter1, tree.inter2] if i % 3 else [tree.base3]))
    db.session.commit()
    return u


def _page_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="ids" value="(\d+)"', html)]


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_pages_follow_the_one_step_order(client, db, tree, login, many, sort):
    login(many.reviewer)
    from app.timeutil import local_today

    expected = list(
        db.session.scalars(
            assignments_query(many.reviewer, AssignmentFilters(sort=sort), local_today()).with_only_columns(
                Assignment.id
            )
        )
    )
    assert len(expected) == 23 * 2 - 8  # 15 items to two units, 8 to one
    seen: list[int] = []
    for page in (1, 2, 3, 4):
        html = client.get(f"/assignments?sort={sort}&size=10&page={page}").get_data(as_text=True)
        if page == 1:
            assert f"共 {len(expected)} 条" in html
        seen += _page_ids(html)
    assert seen == expected


def test_deep_page_costs_the_same_statements(client, db, tree, login, many, count_queries):
    login(many.reviewer)
    client.get("/assignments?size=10")
    with count_queries() as first:
        client.get("/assignments?size=10&page=1")
    with count_queries() as deep:
        client.get("/assignments?size=10&page=4")
    assert len(first) == len(deep) <= 15
    assert db.session.scalar(select(Assignment.id).limit(1))


def test_a_long_list_is_counted_only_some_pages_ahead(client, tree, login, many, monkeypatch):
    from app.sqlutil import IdFirstPagination

    monkeypatch.setattr(IdFirstPagination, "COUNT_AHEAD", 1)
    login(many.reviewer)
    html = client.get("/assignments?size=10").get_data(as_text=True)
    assert "共 20 条以上" in html and "下一页" in html  # 38 rows, counted to 2 pages
    last = client.get("/assignments?size=10&page=4").get_data(as_text=True)
    assert "共 38 条" in last and len(_page_ids(last)) == 8  # near the end the count is exact


def test_unit_and_person_filters_are_bounded_by_the_tree_width(client, tree, login, many):
    login(many.reviewer)
    html = client.get("/assignments").get_data(as_text=True)
    options = re.findall(r'<option value="(\d+)"[^>]*>[\u3000]*([^<]+)</option>', html)
    names = {name for _, name in options}
    assert {tree.inter1.name, tree.inter2.name} <= names
    assert tree.base1.name not in names and tree.trib1.name not in names  # two levels down: not listed
    assert many.trib1_head.display_name not in names  # people of other units: not listed
    html = client.get(f"/assignments?unit={tree.base1.id}").get_data(as_text=True)
    names = {name for _, name in re.findall(r'<option value="(\d+)"[^>]*>[\u3000]*([^<]+)</option>', html)}
    # the path down to the chosen unit, and its children
    assert {tree.inter1.name, tree.base1.name, tree.trib1.name, tree.trib2.name} <= names
    assert tree.trib3.name not in names
    assert many.base1_coord.display_name in names  # the chosen unit's people


def test_a_unit_filter_at_or_above_ones_own_unit_narrows_nothing(client, tree, login, many):
    login(many.assigner)  # 甲市中院: its 15 items
    everything = _page_ids(client.get("/assignments?size=200").get_data(as_text=True))
    assert len(everything) == 15

    def listed(unit) -> list[int]:
        return _page_ids(client.get(f"/assignments?size=200&unit={unit.id}").get_data(as_text=True))

    assert listed(tree.inter1) == listed(tree.high) == everything
    assert listed(tree.base1) == [] and listed(tree.base3) == []


def test_rows_are_escaped_and_carry_every_badge(client, db, tree, login, many):
    """The rows are written in Python (app.tasks.rows_html): a hostile title is text, the
    link goes to the item, an overdue item shows its red light and days overdue, and an
    extended one its original deadline beside the new one."""
    from app.timeutil import local_today

    project = factories.project(many.reviewer, name="转义检查")
    hostile = '<script>alert("x")</script>&'
    task = factories.task(many.reviewer, project, title=hostile, deadline=date(2026, 3, 2))
    (a,) = factories.assign(many.reviewer, task, tree.base3)
    a.original_deadline, a.deadline = date(2026, 3, 2), date(2026, 3, 9)
    db.session.commit()
    login(many.reviewer)
    before = local_today()
    html = client.get(f"/assignments?project={project.id}").get_data(as_text=True)
    days = {(d - date(2026, 3, 9)).days for d in (before, local_today())}  # a page made at midnight
    row = html[html.index(f'name="ids" value="{a.id}"') :]
    row = row[: row.index("</tr>")]
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in row
    assert f'<a href="/assignments/{a.id}">' in row
    assert 'data-light="red"' in row and "红灯" in row
    assert any(f"▲ 逾期 {n} 天" in row for n in days), row
    assert "2026-03-09 <span" in row and "（原 2026-03-02）" in row
    assert f'name="version-{a.id}" value="{a.version}"' in row
    assert 'class="progress-bar pct-0">0%' in row


# sqlite_stat1 of the province benchmark database (ANALYZE at 170,000 assignments)
PROVINCE_STATS = [
    ("assignments", "ix_assignments_by_unit_status", "170000 1318 265 33"),
    ("assignments", "ix_assignments_open_due", "31884 29 2 1 1"),
    ("assignments", "ix_assignments_open", "34869 34869 32 1 1 1 1"),
    ("assignments", "ix_assignments_parent_id", "31266 3"),
    ("assignments", "ix_assignments_list", "170000 170000 152 1 1 1 1"),
    ("assignments", "ix_assignments_unit_status_deadline", "170000 351 71 2"),
    ("assignments", "ix_assignments_task_id", "170000 5"),
    ("assignments", "ix_assignments_status_deadline", "170000 34000 34"),
    ("assignments", "ix_assignments_responsible_user_id", "170000 92"),
    ("assignments", "sqlite_autoindex_assignments_1", "170000 5 1 1 1"),
    ("unit_closure", "ix_unit_closure_descendant", "1791 4 1"),
    ("unit_closure", "sqlite_autoindex_unit_closure_1", "1791 4 1"),
]


@pytest.mark.parametrize("status", ["open", "overdue", "due_soon"])
def test_a_subtree_list_counts_from_the_unit_index_and_pages_from_the_open_one(db, tree, backend, status):
    """With a province's statistics, SQLite counts an intermediate court's open items
    unit by unit (ix_assignments_unit_status_deadline: 0.13 ms for 1,051 overdue items)
    and reads the page in deadline order from the partial index on open items. Said as
    `status != 'closed'` alone, the count read every open item of the province in
    deadline order (ix_assignments_open, 1.65 ms)."""
    if backend != "sqlite":
        pytest.skip("SQLite's planner with a province's sqlite_stat1; PostgreSQL plans by its own statistics")
    from sqlalchemy import text

    from app.sqlutil import capped_count
    from app.tasks.queries import assignment_ids_query

    u = factories.task_users(tree)
    db.session.execute(text("ANALYZE"))
    db.session.execute(text("DELETE FROM sqlite_stat1"))
    for table, index, stat in PROVINCE_STATS:
        db.session.execute(
            text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)"),
            {"t": table, "i": index, "s": stat},
        )
    db.session.execute(text("ANALYZE sqlite_schema"))  # reload the statistics
    f = AssignmentFilters(unit_id=tree.inter1.id, status=status)
    ids = assignment_ids_query(u.reviewer, f, date(2026, 12, 7))

    def plan(stmt) -> str:
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        return " | ".join(row[3] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))

    assert "ix_assignments_unit_status_deadline (unit_id=? AND status=?" in plan(capped_count(ids, 1051))
    page = plan(ids.limit(50))
    assert "ix_assignments_open" in page and "TEMP B-TREE" not in page
