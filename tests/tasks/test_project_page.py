"""The project page: a page of items at a time, per-item unit counts for that page only,
and a number of SQL statements that does not grow with the project (issue 11)."""

from __future__ import annotations

import re

from app.tasks.models import Category
from tests import factories


def _project_with(db, tree, u, n: int, name: str):
    p = factories.project(u.reviewer, name=name)
    cats = [Category(name=f"{name}类别{i}") for i in range(3)]
    db.session.add_all(cats)
    db.session.flush()
    for i in range(n):
        t = factories.task(u.reviewer, p, title=f"{name}事项{i:03d}", category=cats[i % 3])
        factories.assign(u.reviewer, t, *([tree.inter1, tree.inter2] if i % 2 else [tree.inter1]))
    db.session.commit()
    return p


def _titles(html: str, name: str) -> list[str]:
    return re.findall(rf"{name}事项\d{{3}}", html)


def test_project_page_is_paginated_with_counts_for_the_page(client, db, tree, login):
    u = factories.task_users(tree)
    p = _project_with(db, tree, u, 60, "甲")
    login(u.reviewer)
    first = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert _titles(first, "甲") == [f"甲事项{i:03d}" for i in range(50)]
    assert "第 1 / 2 页，共 60 条" in first
    assert f"/projects/{p.id}?page=2" in first
    second = client.get(f"/projects/{p.id}?page=2").get_data(as_text=True)
    assert _titles(second, "甲") == [f"甲事项{i:03d}" for i in range(50, 60)]
    # numbering continues, and each item says how many units it went to
    assert re.search(r">51</td>\s*<td><a[^>]*>甲事项050</a>", second)
    assert second.count("2 个单位/期次") == 5 and second.count("1 个单位/期次") == 5
    # a page past the end is empty, not an error
    assert client.get(f"/projects/{p.id}?page=99").status_code == 200


def test_project_page_query_count_does_not_grow(client, db, tree, login, count_queries):
    u = factories.task_users(tree)
    small = _project_with(db, tree, u, 3, "乙")
    large = _project_with(db, tree, u, 120, "丙")
    login(u.reviewer)
    client.get(f"/projects/{small.id}")  # warm the session's one-off lookups
    with count_queries() as few:
        assert client.get(f"/projects/{small.id}").status_code == 200
    with count_queries() as many:
        assert client.get(f"/projects/{large.id}").status_code == 200
    assert len(many) == len(few), (len(few), len(many))
    assert len(many) <= 15, many
