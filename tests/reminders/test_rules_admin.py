"""Reminder administration: rules, calendar overrides, runs."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import select

from app.errors import ServiceError
from app.journal import JournalEntry
from app.notifications import Notification
from app.reminders import rules
from app.reminders.models import CalendarOverride, ReminderRule, SweepRun
from app.reminders.sweep import run_sweep
from app.reminders.workdays import Calendar
from app.timeutil import local_today
from tests import factories

NOW = datetime(2026, 7, 10, 2, 0)


@pytest.fixture
def admin(tree):
    return factories.user("admin", tree.high, ["admin"])


def _rule(db, kind: str, item_type: str = "assignment") -> ReminderRule:
    return db.session.scalar(
        select(ReminderRule).where(ReminderRule.kind == kind, ReminderRule.item_type == item_type)
    )


def _form(rule: ReminderRule, **kw) -> dict:
    data = {
        "days": rule.days,
        "repeat_every": rule.repeat_every or "",
        "working_days": "1" if rule.working_days else "",
        "is_active": "1" if rule.is_active else "",
        "version": rule.version,
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v != ""}


def test_rules_page_lists_rules_by_item_type(db, admin, login):
    """The page shows every rule, grouped by item type, with its label."""
    body = login(admin).get("/admin/reminders/rules").get_data(as_text=True)
    assert "清单事项" in body and "整改事项" in body and "检查清单项" in body
    assert _rule(db, "escalate_high").label in body


def test_rules_table_has_one_cell_per_column(db, admin, login):
    """Each rule's row has one cell under each header (天数 under 天数 …), and every field
    of the row belongs to the row's own form, which posts to the rule."""
    import re

    body = login(admin).get("/admin/reminders/rules").get_data(as_text=True)
    tables = re.findall(r"<table.*?</table>", body, re.S)
    assert tables
    for table in tables:
        headers = re.findall(r"<th\b", table.split("</thead>")[0])
        assert len(headers) == 6
        rows = re.findall(r'(<tr id="rule-(\d+)".*?</tr>)', table, re.S)
        assert rows
        for html, rule_id in rows:
            assert len(re.findall(r"<td\b", html)) == len(headers) and "colspan" not in html
            fields = re.findall(r'<input[^>]*name="(?:days|repeat_every|working_days|is_active)"[^>]*>', html)
            assert len(fields) == 4 and all(f'form="rule-form-{rule_id}"' in tag for tag in fields)
            assert (
                f'<form id="rule-form-{rule_id}" method="post" action="/admin/reminders/rules/{rule_id}"'
                in html
            )


def test_update_rule_saves_and_journals(db, admin, login):
    """A valid change is saved, the version moves on and the journal records it."""
    rule = _rule(db, "overdue")
    resp = login(admin).post(f"/admin/reminders/rules/{rule.id}", data=_form(rule, days=2, repeat_every=5))
    assert resp.status_code == 302
    db.session.refresh(rule)
    assert (rule.days, rule.repeat_every, rule.version) == (2, 5, 2)
    entry = db.session.scalar(select(JournalEntry).where(JournalEntry.action == "reminder_rule.update"))
    assert entry.before["days"] == 1 and entry.after["days"] == 2 and entry.actor_id == admin.id


def test_negative_days_refused_and_nothing_changed(db, admin, login):
    """Negative days answer 400 with the message, and the rule stays as it was."""
    rule = _rule(db, "due_soon")
    before = (rule.days, rule.version)
    resp = login(admin).post(f"/admin/reminders/rules/{rule.id}", data=_form(rule, days=-1))
    assert resp.status_code == 400
    assert "天数不能为负数" in resp.get_data(as_text=True)
    db.session.refresh(rule)
    assert (rule.days, rule.version) == before
    assert not db.session.scalar(select(JournalEntry.id).where(JournalEntry.action == "reminder_rule.update"))


def test_escalation_must_come_after_due(db, admin, login):
    """An escalation on the due date (0 days overdue) is refused."""
    rule = _rule(db, "escalate")
    resp = login(admin).post(f"/admin/reminders/rules/{rule.id}", data=_form(rule, days=0))
    assert resp.status_code == 400
    assert "督办必须在逾期之后" in resp.get_data(as_text=True)
    db.session.refresh(rule)
    assert rule.days == 3


def test_escalate_high_after_escalate(db, admin):
    """The high court escalation must come strictly later than the first one."""
    high = _rule(db, "escalate_high")
    with pytest.raises(ServiceError):
        rules.update_rule(
            admin, high, days=3, repeat_every=None, working_days=False, is_active=True, version=1, now=NOW
        )
    with pytest.raises(ServiceError):
        rules.update_rule(
            admin,
            _rule(db, "escalate"),
            days=15,
            repeat_every=None,
            working_days=False,
            is_active=True,
            version=1,
            now=NOW,
        )
    with pytest.raises(ServiceError):
        rules.update_rule(
            admin,
            _rule(db, "overdue"),
            days=1,
            repeat_every=0,
            working_days=False,
            is_active=True,
            version=1,
            now=NOW,
        )
    rules.update_rule(
        admin, high, days=4, repeat_every=None, working_days=True, is_active=True, version=1, now=NOW
    )
    assert high.days == 4


def test_stale_version_409(db, admin, login):
    """A save based on an old copy is refused with 409."""
    rule = _rule(db, "overdue")
    client = login(admin)
    stale = _form(rule, days=2)
    assert client.post(f"/admin/reminders/rules/{rule.id}", data=stale).status_code == 302
    resp = client.post(f"/admin/reminders/rules/{rule.id}", data={**stale, "days": 4})
    assert resp.status_code == 409
    db.session.refresh(rule)
    assert rule.days == 2


@pytest.mark.parametrize(
    "method,url",
    [
        ("get", "/admin/reminders/rules"),
        ("post", "/admin/reminders/rules/1"),
        ("get", "/admin/reminders/calendar"),
        ("post", "/admin/reminders/calendar"),
        ("get", "/admin/reminders/runs"),
        ("post", "/admin/reminders/run-now"),
    ],
)
def test_non_admin_forbidden(db, tree, login, method, url):
    """Only admins reach the reminder administration."""
    staff = factories.user("reviewer", tree.high, ["reviewer", "assigner"])
    client = login(staff)
    resp = getattr(client, method)(url, data={"days": 1, "day": "2026-10-10"})
    assert resp.status_code == 403
    assert db.session.scalar(select(ReminderRule).where(ReminderRule.id == 1)).version == 1
    assert not db.session.scalar(select(CalendarOverride.id))
    assert not db.session.scalar(select(SweepRun.id))


def test_calendar_override_changes_workday_and_sweep(db, tree, admin, login):
    """A Monday set as 休息日 is no longer a working day and the sweep sends nothing on it;
    deleting the override restores it."""
    monday = date(2026, 7, 13)
    assert Calendar().is_workday(monday)
    u = factories.task_users(tree)
    p = factories.project(u.assigner)
    t = factories.task(u.assigner, p, deadline=date(2026, 7, 10))
    factories.assign(u.assigner, t, tree.base1)
    db.session.commit()
    client = login(admin)
    resp = client.post(
        "/admin/reminders/calendar", data={"day": "2026-07-13", "kind": "holiday", "note": "调休"}
    )
    assert resp.status_code == 302
    assert not Calendar().is_workday(monday)
    page = client.get("/admin/reminders/calendar").get_data(as_text=True)
    assert "2026-07-13" in page and "调休" in page

    dup = client.post("/admin/reminders/calendar", data={"day": "2026-07-13", "kind": "workday"})
    assert dup.status_code == 409 and "已有调整记录" in dup.get_data(as_text=True)

    result = run_sweep(monday, NOW, trigger="cli")
    db.session.commit()
    assert result.skipped_reason and result.counts["sent"] == 0
    assert not db.session.scalar(select(Notification.id).where(Notification.rule_id.is_not(None)))

    # The next day (a working Tuesday) the same item is chased.
    assert run_sweep(date(2026, 7, 14), NOW, trigger="cli").counts["sent"] > 0
    override = db.session.scalar(select(CalendarOverride))
    assert client.post(f"/admin/reminders/calendar/{override.id}/delete").status_code == 302
    assert Calendar().is_workday(monday)
    assert db.session.scalar(select(JournalEntry.id).where(JournalEntry.action == "calendar_override.delete"))


def test_calendar_bad_date_400(db, admin, login):
    """A missing date is a clear 400, nothing saved."""
    resp = login(admin).post("/admin/reminders/calendar", data={"day": "", "kind": "holiday"})
    assert resp.status_code == 400 and "请填写有效的日期" in resp.get_data(as_text=True)
    assert not db.session.scalar(select(CalendarOverride.id))


def test_calendar_shows_next_30_days(db, admin, login):
    """The page lists the next 30 days with their working flag."""
    with time_machine.travel(datetime(2026, 9, 30, 2, 0).isoformat() + "+00:00", tick=False):
        body = login(admin).get("/admin/reminders/calendar").get_data(as_text=True)
    assert "10月1日" in body and "10月29日" in body and "10月30日" not in body


def test_runs_page_and_run_now(db, admin, login):
    """A sweep run is listed; 立即运行 runs one more (trigger web) and flashes the summary."""
    run_sweep(date(2026, 7, 10), NOW, trigger="cli")
    db.session.commit()
    client = login(admin)
    body = client.get("/admin/reminders/runs").get_data(as_text=True)
    assert "2026-07-10" in body and "命令行" in body
    assert "临期提醒 0 项，逾期催办 0 项" in body and "due_soon" not in body  # the counts in Chinese
    resp = client.post("/admin/reminders/run-now", follow_redirects=True)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "已运行提醒" in body and "发出汇总通知" in body and "sent=" not in body
    web = db.session.scalar(select(SweepRun).where(SweepRun.trigger == "web"))
    assert web is not None and web.as_of == local_today() and web.finished_at is not None
