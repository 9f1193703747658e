"""Fixtures for the identification tests: people in the small tree."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def staff(tree):
    return factories.user("zhangsan", tree.trib1, ["tribunal_head"])


@pytest.fixture
def secadmin(db, tree):
    """The 安全管理员 of the first intermediate court (subtree: inter1, base1, base2, trib1-3)."""
    user = factories.user("sec_j", tree.inter1, ["secadmin"])
    db.session.commit()
    return user
