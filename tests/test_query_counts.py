"""Hot pages send a fixed number of SQL statements, whatever the size of the tree."""

import pytest

from tests import factories


def _grow(db, tree, n):
    for i in range(n):
        base = factories.unit(f"扩展{i}区人民法院", "base", tree.inter1)
        factories.unit(f"扩展{i}人民法庭", "tribunal", base)
        factories.user(f"extra_{i}", base)
    db.session.commit()


@pytest.mark.parametrize("path", ["/", "/admin/units", "/admin/users", "/admin/users?q=extra"])
def test_page_query_count_does_not_grow(client, db, tree, login, count_queries, path):
    login(factories.user("boss", tree.high, ["admin"]))
    factories.user("extra_seed", tree.trib1, ["staff", "viewer"])
    db.session.commit()
    with count_queries() as small:
        assert client.get(path).status_code == 200
    _grow(db, tree, 15)
    with count_queries() as large:
        assert client.get(path).status_code == 200
    assert len(large) == len(small), f"{path}: {len(small)} → {len(large)} statements"
    assert len(large) <= 6, large  # was 8: the session statement brings the unread badge and the settings
