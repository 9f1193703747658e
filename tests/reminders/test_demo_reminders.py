"""The demo, loaded on Monday 2026-11-23, swept a week later from the CLI: 华来's overdue
items reach its head (hlft) and are escalated to 本溪中院's 专班 (bxzy), each in one
digest per rule; a second run the same day adds nothing."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import func, select

from app.checklists.standards import load_standard_templates
from app.notifications import Notification
from app.org.models import User
from app.reminders.models import SweepRun
from app.seed.demo import load_demo, load_demo_checklists, load_demo_tasks, load_demo_visits
from tests.reminders.test_sweep import listed

LOAD_NOW = datetime(2026, 11, 23, 1, 0)  # Monday 09:00 in Asia/Shanghai
SUMMARY = re.compile(
    r"^due_soon=(\d+) overdue=(\d+) escalated=(\d+) review_waiting=(\d+) sent=(\d+) duplicates_skipped=(\d+)"
    r" items=(\d+)$"
)


def _uid(db, username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def _run(app, day: str):
    res = app.test_cli_runner().invoke(args=["reminders", "run", "--date", day])
    assert res.exit_code == 0, res.output
    lines = getattr(res, "stdout", res.output).strip().splitlines()
    assert len(lines) == 1, lines
    m = SUMMARY.match(lines[0])
    assert m, lines[0]
    return lines[0], dict(
        zip(
            ("due_soon", "overdue", "escalated", "review_waiting", "sent", "duplicates_skipped", "items"),
            map(int, m.groups()),
            strict=True,
        )
    )


def test_demo_week_later_sweep(app, db, capsys):
    load_demo(LOAD_NOW)
    load_standard_templates(LOAD_NOW)
    load_demo_tasks(LOAD_NOW)
    load_demo_visits(LOAD_NOW)
    load_demo_checklists(LOAD_NOW)
    db.session.commit()
    before = db.session.scalar(select(func.count()).select_from(Notification))

    line1, first = _run(app, "2026-11-30")
    line2, second = _run(app, "2026-11-30")
    with capsys.disabled():
        print(f"\n[demo 2026-11-30 first ] {line1}\n[demo 2026-11-30 second] {line2}")

    db.session.expire_all()
    sweep = list(db.session.scalars(select(Notification).where(Notification.rule_id.is_not(None))))
    assert len(sweep) == first["sent"] > 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == before + first["sent"]
    assert {n.day for n in sweep} == {date(2026, 11, 30)}

    hlft, bxzy = _uid(db, "hlft"), _uid(db, "bxzy")
    # one digest of overdue items for hlft: 标识标牌 (due 11-18) and 诉讼服务站点 (due 11-26)
    (hl_overdue,) = [n for n in sweep if n.recipient_id == hlft and n.kind == "overdue"]
    assert len(listed(hl_overdue)) >= 2
    text = hl_overdue.message
    assert re.search(r"“规范人民法庭标识标牌[^”]*”（已逾期 12 天）", text), text
    assert re.search(r"“完善诉讼服务站点建设[^”]*”（已逾期 4 天）", text), text
    assert text.index("规范人民法庭标识标牌") < text.index(
        "完善诉讼服务站点建设"
    )  # the longest overdue first
    # one escalation digest for bxzy naming both of 华来's items
    (bx_esc,) = [n for n in sweep if n.recipient_id == bxzy and n.kind == "escalate"]
    assert bx_esc.message.startswith("【督办】") and bx_esc.message.count("华来人民法庭承办") == 2
    assert "已上报上一级单位" not in bx_esc.message

    # the summary is consistent with what was written
    def named(kinds):
        return {(k, item) for n in sweep if (k := n.kind) in kinds for item in listed(n)}

    assert first["overdue"] == len(named(("overdue",)))
    assert first["escalated"] == len(named(("escalate", "escalate_high")))
    assert first["items"] == len(
        named(("due_soon", "overdue", "escalate", "escalate_high", "review_waiting"))
    )
    assert first["duplicates_skipped"] == 0
    # the second run: the same matches, nothing new
    assert second["sent"] == 0 and second["items"] == 0
    assert second["duplicates_skipped"] == first["sent"]
    assert {k: second[k] for k in ("due_soon", "overdue", "escalated", "review_waiting")} == {
        k: first[k] for k in ("due_soon", "overdue", "escalated", "review_waiting")
    }
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.rule_id.is_not(None))
        )
        == first["sent"]
    )
    runs = list(db.session.scalars(select(SweepRun).order_by(SweepRun.id)))
    assert [(r.as_of, r.counts["sent"]) for r in runs] == [
        (date(2026, 11, 30), first["sent"]),
        (date(2026, 11, 30), 0),
    ]
