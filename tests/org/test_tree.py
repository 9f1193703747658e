"""The unit tree: closure table, names and aliases, moving, deactivating."""

import pytest
from sqlalchemy import select, text

from app import authz
from app.errors import ANY_VERSION, Conflict, ServiceError
from app.journal import JournalEntry
from app.org import services
from app.org.models import Unit, UnitClosure
from app.timeutil import utcnow
from tests import factories


def _subtree_names(db, unit):
    ids = services.subtree_ids(unit.id)
    return sorted(db.session.scalars(select(Unit.name).where(Unit.id.in_(ids))))


def _closure(db):
    return sorted(
        db.session.execute(
            select(UnitClosure.ancestor_id, UnitClosure.descendant_id, UnitClosure.depth)
        ).all()
    )


def _expected_closure(db):
    """Closure rebuilt the slow way, from parent_id, to check the fast one against."""
    parents = dict(db.session.execute(select(Unit.id, Unit.parent_id)).all())
    rows = []
    for uid in parents:
        node, depth = uid, 0
        while node is not None:
            rows.append((node, uid, depth))
            node, depth = parents[node], depth + 1
    return sorted(rows)


def test_subtree_is_the_unit_and_everything_below(db, tree):
    assert _subtree_names(db, tree.base1) == sorted(["甲一区人民法院", "东山人民法庭", "西山人民法庭"])
    assert len(services.subtree_ids(tree.high.id)) == 9
    assert services.subtree_ids(tree.trib1.id) == [tree.trib1.id]
    assert _closure(db) == _expected_closure(db)


def test_move_keeps_every_subtree_query_right(db, tree):
    """Move base1 (with its tribunals) from inter1 to inter2."""
    services.move_unit(None, tree.base1, tree.inter2, expected_version=ANY_VERSION, now=utcnow())
    db.session.commit()
    assert tree.base1.parent_id == tree.inter2.id
    assert "东山人民法庭" in _subtree_names(db, tree.inter2)
    assert "东山人民法庭" not in _subtree_names(db, tree.inter1)
    assert _closure(db) == _expected_closure(db)
    entry = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "unit.move")).one()
    assert entry.before["parent_id"] == tree.inter1.id and entry.after["parent_id"] == tree.inter2.id


def test_visibility_follows_a_move(db, tree):
    """A user of inter2 starts seeing base1's tribunals once base1 moves there."""
    watcher = factories.user("watcher", tree.inter2, ["viewer"])
    assert not authz.sees(watcher, tree.trib1)
    services.move_unit(None, tree.base1, tree.inter2, expected_version=ANY_VERSION, now=utcnow())
    db.session.commit()
    assert tree.trib1.id in set(db.session.scalars(authz.scope_unit_ids(watcher)))


@pytest.mark.parametrize("target", ["base1", "trib1"])
def test_cannot_move_under_itself_or_a_descendant(db, tree, target):
    with pytest.raises(ServiceError, match="下级单位之下"):
        services.move_unit(
            None, tree.base1, getattr(tree, target), expected_version=ANY_VERSION, now=utcnow()
        )


def test_cannot_move_a_court_under_a_tribunal_level(db, tree):
    with pytest.raises(ServiceError, match="不能设在"):
        services.move_unit(None, tree.trib3, tree.trib1, expected_version=ANY_VERSION, now=utcnow())
    with pytest.raises(ServiceError, match="不能设在"):
        services.move_unit(None, tree.base2, tree.base1, expected_version=ANY_VERSION, now=utcnow())


def test_names_and_aliases_are_unique_in_the_whole_tree(db, tree):
    with pytest.raises(ServiceError, match="已被“甲一区人民法院”使用"):
        factories.unit("甲一区法院", "base", tree.inter2)  # an alias of base1
    with pytest.raises(ServiceError, match="已被"):
        factories.unit("丙县人民法院", "base", tree.inter2, aliases="甲市中院")
    with pytest.raises(ServiceError, match="已被"):
        factories.unit("东山人民法庭", "tribunal", tree.base3)


def test_find_by_full_name_short_name_or_alias(db, tree):
    assert services.find_unit_by_name("甲一区人民法院").id == tree.base1.id
    assert services.find_unit_by_name("甲一区法院").id == tree.base1.id
    assert services.find_unit_by_name("东山法庭") is None  # no alias was given


def test_rename_keeps_aliases_and_frees_old_name(db, tree):
    services.update_unit(
        None,
        tree.base1,
        name="甲市甲一区人民法院",
        tribunal_kind=None,
        feature_label=None,
        aliases="甲一区人民法院、甲一区法院",
        expected_version=tree.base1.version,
        now=utcnow(),
    )
    db.session.commit()
    assert services.find_unit_by_name("甲一区人民法院").id == tree.base1.id
    assert sorted(tree.base1.aliases) == ["甲一区人民法院", "甲一区法院"]


def test_stale_edit_is_a_conflict_not_a_lost_update(db, tree):
    old_version = tree.base1.version
    services.update_unit(
        None,
        tree.base1,
        name="甲一区人民法院",
        tribunal_kind=None,
        feature_label="第一次",
        aliases="甲一区法院",
        expected_version=old_version,
        now=utcnow(),
    )
    db.session.commit()
    with pytest.raises(Conflict):
        services.update_unit(
            None,
            tree.base1,
            name="甲一区人民法院",
            tribunal_kind=None,
            feature_label="第二次",
            aliases="甲一区法院",
            expected_version=old_version,
            now=utcnow(),
        )
    db.session.rollback()
    assert db.session.get(Unit, tree.base1.id).feature_label == "第一次"


def test_deactivate_refuses_a_unit_with_active_children_or_users(db, tree):
    with pytest.raises(ServiceError, match="下级单位"):
        services.set_unit_active(None, tree.base1, False, expected_version=ANY_VERSION, now=utcnow())
    factories.user("someone", tree.trib3)
    with pytest.raises(ServiceError, match="用户"):
        services.set_unit_active(None, tree.trib3, False, expected_version=ANY_VERSION, now=utcnow())


def test_deactivated_unit_is_kept_not_deleted(db, tree):
    services.set_unit_active(None, tree.base3, False, expected_version=ANY_VERSION, now=utcnow())
    db.session.commit()
    unit = db.session.get(Unit, tree.base3.id)
    assert unit is not None and unit.is_active is False
    with pytest.raises(ServiceError, match="已停用"):
        factories.unit("北山人民法庭", "tribunal", unit)


@pytest.mark.parametrize(
    ("name", "message"), [("", "不能为空"), ("   ", "不能为空"), ("法" * 101, "不能超过 100")]
)
def test_bad_names(db, tree, name, message):
    with pytest.raises(ServiceError, match=message):
        factories.unit(name, "base", tree.inter1)


def test_tribunal_kind_only_on_tribunals(db, tree):
    with pytest.raises(ServiceError, match="只有人民法庭"):
        factories.unit("丁区人民法院", "base", tree.inter1, tribunal_kind="center")
    t = factories.unit("北山人民法庭", "tribunal", tree.base3, feature_label="旅游法庭")
    db.session.commit()
    assert t.tribunal_kind == "regular" and t.feature_label == "旅游法庭"


def test_subtree_lookup_uses_an_index(db, tree, backend):
    """The hot path is an index lookup on the closure table, not a scan."""
    stmt = select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == tree.inter1.id)
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if backend == "sqlite":
        plan = " ".join(str(r) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "USING" in plan and "INDEX" in plan.upper(), plan
    else:
        db.session.execute(text("SET enable_seqscan = off"))
        plan = " ".join(r[0] for r in db.session.execute(text("EXPLAIN " + sql)))
        assert "Index" in plan, plan
