"""Builders for test data, going through the real services (so the closure table,
names and journal are always right)."""

from __future__ import annotations

from types import SimpleNamespace

from app.extensions import db
from app.org import services
from app.org.models import Unit, User
from app.timeutil import utcnow

PASSWORD = "Test@2026"


def unit(name: str, level: str, parent: Unit | None = None, **kw) -> Unit:
    return services.create_unit(None, name=name, level=level, parent=parent, now=utcnow(), **kw)


def user(username: str, unit_: Unit, roles=("staff",), **kw) -> User:
    return services.create_user(
        None,
        username=username,
        display_name=kw.pop("display_name", username),
        unit=unit_,
        roles=list(roles),
        password=kw.pop("password", PASSWORD),
        now=utcnow(),
        **kw,
    )


def build_tree() -> SimpleNamespace:
    """high
    ├── inter1 ── base1 ── trib1, trib2
    │          └─ base2 ── trib3
    └── inter2 ── base3
    """
    t = SimpleNamespace()
    t.high = unit("测试省高级人民法院", "high", aliases="测试高院")
    t.inter1 = unit("甲市中级人民法院", "intermediate", t.high, aliases="甲市中院")
    t.inter2 = unit("乙市中级人民法院", "intermediate", t.high, aliases="乙市中院")
    t.base1 = unit("甲一区人民法院", "base", t.inter1, aliases=["甲一区法院"])
    t.base2 = unit("甲二区人民法院", "base", t.inter1)
    t.base3 = unit("乙一县人民法院", "base", t.inter2)
    t.trib1 = unit("东山人民法庭", "tribunal", t.base1, tribunal_kind="center")
    t.trib2 = unit("西山人民法庭", "tribunal", t.base1)
    t.trib3 = unit("南山人民法庭", "tribunal", t.base2)
    db.session.commit()
    return t
