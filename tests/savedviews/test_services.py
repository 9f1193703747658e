"""Saved views: the services (save, edit, default, delete), the journal, and the filter
checks that keep a stale or foreign filter from reaching a list."""

from datetime import datetime

import pytest
from sqlalchemy import select

from app.errors import Conflict, MissingVersion, ServiceError
from app.journal import JournalEntry
from app.savedviews import lists, services
from app.savedviews.models import SavedView
from app.validation import Forbidden
from tests import factories

NOW = datetime(2026, 12, 6, 8, 0)


def _save(user, name="逾期事项", query="status=overdue", **kw):
    args = {"list_key": "assignments", "shared": False, "is_default": False, **kw}
    view, ignored = services.create_view(user, name=name, query=query, now=NOW, **args)
    return view, ignored


def _journal(view_id):
    return list(
        db_scalars(
            select(JournalEntry.action)
            .where(JournalEntry.object_type == "SavedView", JournalEntry.object_id == view_id)
            .order_by(JournalEntry.id)
        )
    )


def db_scalars(stmt):
    from app.extensions import db

    return db.session.scalars(stmt)


def test_save_keeps_only_the_lists_own_filters_and_journals(db, tree):
    """Paging is dropped silently; an unknown key and a value out of scope are dropped and named."""
    me = factories.user("me", tree.base1, ["assigner"])
    query = f"status=overdue&page=3&size=100&evil=1&unit={tree.base3.id}&q=+批量++&sort=title&view=9"
    view, ignored = _save(me, name="  逾期  事项 ", query=query)
    db.session.commit()
    assert view.name == "逾期 事项"
    assert lists.parse(view.query) == [("q", "批量"), ("status", "overdue"), ("sort", "title")]
    assert ignored == ["未知条件“evil”", "单位"]
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.object_type == "SavedView"))
    assert (entry.action, entry.actor_id, entry.before) == ("saved_view.create", me.id, None)
    assert entry.after["name"] == "逾期 事项" and entry.after["query"] == view.query


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "请填写查询名称。"),
        ("   ", "请填写查询名称。"),
        ("长" * 51, "查询名称不能超过 50 个字。"),
        ("a\x00b", "空字符"),
        # refused, not dropped: colleagues would read a shared name reversed or hiding text
        ("报表\u202egpj.exe", r"查询名称包含不可见的控制字符或格式字符（U\+202E）"),
        ("a\u200bb", r"（U\+200B）"),
        ("a\x07b", r"（U\+0007）"),
        ("a\x85b", r"（U\+0085）"),
    ],
)
def test_bad_names_are_refused_in_chinese(db, tree, name, message):
    me = factories.user("me", tree.base1)
    with pytest.raises(ServiceError, match=message):
        _save(me, name=name)


def test_name_is_unique_per_owner_and_list(db, tree):
    """The same name: refused for the same owner and list; fine on another list or for another person."""
    me = factories.user("me", tree.base1)
    other = factories.user("other", tree.base1)
    _save(me, name="本周")
    with pytest.raises(ServiceError, match="已有名为“本周”的查询"):
        _save(me, name=" 本周 ")
    _save(me, name="本周", list_key="visits", query="status=planned")
    _save(other, name="本周")
    db.session.commit()
    assert db.session.scalar(select(db.func.count(SavedView.id))) == 3


def test_unknown_list_is_refused(db, tree):
    me = factories.user("me", tree.base1)
    with pytest.raises(ServiceError, match="不能保存查询"):
        _save(me, list_key="users")


def test_one_default_per_owner_and_list(db, tree):
    """A new default replaces the old one (both journaled); defaults of other lists stay."""
    me = factories.user("me", tree.base1)
    first, _ = _save(me, name="甲", is_default=True)
    visits, _ = _save(me, name="走访", list_key="visits", query="", is_default=True)
    second, _ = _save(me, name="乙", is_default=True)
    db.session.commit()
    assert (first.is_default, second.is_default, visits.is_default) == (False, True, True)
    assert _journal(first.id) == ["saved_view.create", "saved_view.default"]
    services.set_default(me, first, on=True, expected_version=first.version, now=NOW)
    db.session.commit()
    assert (first.is_default, second.is_default) == (True, False)
    assert _journal(second.id)[-1] == "saved_view.default"


def test_update_renames_shares_and_journals_what_changed(db, tree):
    me = factories.user("me", tree.base1)
    view, _ = _save(me)
    db.session.commit()
    services.update_view(me, view, name="新名", shared=False, is_default=False, expected_version=1, now=NOW)
    services.update_view(
        me, view, name="新名", shared=True, is_default=False, expected_version=view.version, now=NOW
    )
    db.session.commit()
    rows = db.session.scalars(
        select(JournalEntry).where(JournalEntry.object_type == "SavedView").order_by(JournalEntry.id)
    ).all()
    assert [(r.action, r.before, r.after) for r in rows[1:]] == [
        ("saved_view.rename", {"name": "逾期事项"}, {"name": "新名"}),
        ("saved_view.share", {"shared": False}, {"shared": True}),
    ]
    assert view.version == 3


def test_every_journaled_action_and_field_reads_in_chinese(app, db, tree):
    """Each saved_view.* action the services write has a label on the timeline
    (app/templates/_timeline.html), each field one in app/journal.py, the class one in
    the audit log and on the conflict page — no English code reaches a page."""
    from app.audit.queries import object_label
    from app.conflicts import KIND_LABELS
    from app.journal import field_label

    me = factories.user("me", tree.base1)
    first, _ = _save(me, is_default=True)
    view, _ = _save(me, name="乙")
    for name, shared, default in (
        ("丙", False, False),
        ("丙", True, False),
        ("丙", True, True),
        ("丁", False, True),
    ):
        services.update_view(
            me, view, name=name, shared=shared, is_default=default, expected_version=view.version, now=NOW
        )
    services.delete_view(me, first, expected_version=first.version, now=NOW)
    entries = db.session.scalars(select(JournalEntry).where(JournalEntry.object_type == "SavedView")).all()
    actions = {e.action for e in entries}
    assert actions == {
        f"saved_view.{a}" for a in ("create", "rename", "share", "default", "update", "delete")
    }
    labels = app.jinja_env.get_template("_timeline.html").module.ACTIONS
    assert {a: labels.get(a) for a in actions if not labels.get(a)} == {}
    keys = {k for e in entries for part in (e.before or {}, e.after or {}) for k in part} | {"on"}
    assert {k for k in keys if field_label(k) == k} == set()
    assert object_label("SavedView") == KIND_LABELS["SavedView"] == "我的查询"


def test_a_stale_or_missing_version_is_a_conflict(db, tree):
    """Two people renaming from the same page: the second is told (app/conflicts.py)."""
    me = factories.user("me", tree.base1)
    view, _ = _save(me)
    db.session.commit()
    services.update_view(me, view, name="甲", shared=False, is_default=False, expected_version="1", now=NOW)
    db.session.commit()
    with pytest.raises(Conflict):
        services.update_view(
            me, view, name="乙", shared=False, is_default=False, expected_version="1", now=NOW
        )
    with pytest.raises(MissingVersion):
        services.delete_view(me, view, expected_version=None, now=NOW)


def test_only_the_owner_edits_or_deletes(db, tree):
    me = factories.user("me", tree.base1)
    colleague = factories.user("colleague", tree.base1)
    view, _ = _save(me, shared=True)
    db.session.commit()
    with pytest.raises(Forbidden):
        services.update_view(
            colleague, view, name="x", shared=True, is_default=False, expected_version=1, now=NOW
        )
    with pytest.raises(Forbidden):
        services.delete_view(colleague, view, expected_version=1, now=NOW)


def test_delete_is_journaled_with_what_it_was(db, tree):
    me = factories.user("me", tree.base1)
    view, _ = _save(me)
    db.session.commit()
    view_id = view.id
    services.delete_view(me, view, expected_version=1, now=NOW)
    db.session.commit()
    assert db.session.get(SavedView, view_id) is None
    entry = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "saved_view.delete")).one()
    assert entry.before["query"] == "status=overdue" and entry.after is None


def test_resolve_drops_what_is_no_longer_valid(db, tree):
    """Applied later: a unit deactivated, a retired status, a huge id, a bad date → named, the rest kept."""
    me = factories.user("me", tree.base1, ["assigner"])
    spec = lists.spec_of("assignments")
    tree.trib2.is_active = False
    db.session.commit()
    pairs = lists.parse(
        f"unit={tree.trib2.id}&status=archived&responsible={2**63}&from=2026-13-01&to=2026-12-31&kind=rectification"
    )
    kept, ignored = lists.resolve(spec, pairs, me)
    assert kept == [("to", "2026-12-31"), ("kind", "rectification")]
    assert ignored == ["单位", "状态", "责任人", "时限起"]


def test_resolve_caps_junk(db, tree):
    """10,000 pairs and a 100,000-character value: bounded work, bounded result."""
    me = factories.user("me", tree.base1)
    spec = lists.spec_of("assignments")
    junk = "&".join(f"k{i}=v" for i in range(10_000)) + "&q=" + "字" * 100_000
    kept, ignored = lists.resolve(spec, lists.parse(junk), me)
    assert kept == [] and len(ignored) <= lists.MAX_PAIRS * 2
    kept, _ = lists.resolve(spec, lists.parse("q=" + "字" * 100_000), me)
    assert kept == [("q", "字" * 100)]


def test_too_many_views_per_list_are_refused(db, tree, monkeypatch):
    me = factories.user("me", tree.base1)
    monkeypatch.setattr(services, "PER_LIST_MAX", 2)
    _save(me, name="一")
    _save(me, name="二")
    with pytest.raises(ServiceError, match="最多保存 2 个查询"):
        _save(me, name="三")
