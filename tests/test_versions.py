"""Every versioned object outside tasks, visits and checklists — units, users, circulars,
reminder rules, display tokens — refuses a save that does not say which version it is
based on (the one rule in app/errors.check_version), and still takes the current one.
(Projects, items, assignments, rectifications, visits and checklist entries: the
test_versions.py files of tests/tasks, tests/visits and tests/checklists.)"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from app.errors import MissingVersion
from app.org import services as org
from app.reminders import circular, rules
from app.reminders.models import ReminderRule
from tests import factories

NOW = datetime(2026, 11, 3, 2, 0)


def _saves(db, tree):
    """(what, the object, a save of it given a version) for each kind."""
    from app.dashboard import services as displays

    admin = factories.user("sys", tree.high, ["admin"])
    staff = factories.user("someone", tree.base1, ["staff"])
    rule = next(iter(db.session.scalars(select(ReminderRule).order_by(ReminderRule.id))))
    token, _raw = displays.create_display(admin, tree.base1, label="大厅", now=NOW)
    draft = circular.make_draft(tree.high, "2026-10", NOW)
    db.session.commit()
    return [
        (
            "unit",
            tree.trib2,
            lambda v: org.update_unit(
                admin,
                tree.trib2,
                name=tree.trib2.name,
                tribunal_kind=None,
                feature_label="特色",
                aliases=None,
                expected_version=v,
                now=NOW,
            ),
        ),
        (
            "unit.move",
            tree.trib3,
            lambda v: org.move_unit(admin, tree.trib3, tree.base1, expected_version=v, now=NOW),
        ),
        (
            "unit.active",
            tree.base3,
            lambda v: org.set_unit_active(admin, tree.base3, False, expected_version=v, now=NOW),
        ),
        (
            "user.active",
            staff,
            lambda v: org.set_user_active(admin, staff, False, expected_version=v, now=NOW),
        ),
        (
            "circular",
            draft,
            lambda v: circular.save_circular(
                admin, draft, title="通报", body="正文", expected_version=v, now=NOW
            ),
        ),
        (
            "rule",
            rule,
            lambda v: rules.update_rule(
                admin,
                rule,
                days=rule.days,
                repeat_every=rule.repeat_every,
                working_days=True,
                is_active=True,
                version=v,
                now=NOW,
            ),
        ),
        ("display", token, lambda v: displays.revoke_display(admin, token, expected_version=v, now=NOW)),
    ]


@pytest.mark.parametrize("missing", [None, "", "v2"])
def test_other_versioned_objects_refuse_a_missing_version(db, tree, missing):
    """Units, users, circulars, rules, display tokens: no version (or a malformed one) → refused, unchanged."""
    for what, obj, save in _saves(db, tree):
        version = obj.version
        with pytest.raises(MissingVersion):
            save(missing)
        db.session.rollback()
        assert db.session.get(type(obj), obj.id).version == version, what


def test_other_versioned_objects_take_the_current_version(db, tree):
    """The same saves with the version they were loaded at go through and move the version on."""
    for what, obj, save in _saves(db, tree):
        version = obj.version
        save(version)
        db.session.commit()
        assert db.session.get(type(obj), obj.id).version > version, what
