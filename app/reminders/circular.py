"""月末通报: the month-end circular. The scheduler drafts it (ranking of the courts by
on-time rate and overdue count, the red list of the longest-overdue items at the month's
end); a reviewer edits the text and issues it; the courts it names are told, may read it
(with the units above them) and their reading is recorded; it prints as a Word file."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app import authz
from app.dashboard import rankings
from app.errors import ServiceError, check_version
from app.extensions import db
from app.journal import record, snapshot
from app.notifications import mark_first_read, notify_users
from app.org.models import Unit, User, UserRole
from app.reminders.circular_models import CircularAddressee, CircularRead
from app.reminders.models import Circular
from app.tasks.models import Assignment, Task
from app.timeutil import fmt_date_cn, to_local

RANKED_LEVELS = {"intermediate": "中级人民法院", "base": "基层人民法院"}
RED_LIST_SIZE = 20
JOURNAL_FIELDS = ("title", "body", "status", "issued_by_id", "issued_at")
PICKER_MONTHS = 12  # months offered by the draft dialog
NAMES_SHOWN = 5  # courts named in one sentence before "等 n 个法院"


# ---------------------------------------------------------------- the month


def default_period(today: date) -> str:
    """The month a circular drafted today is about: the last complete month — or, on
    the last day of a month, that month."""
    if today.day == calendar.monthrange(today.year, today.month)[1]:
        return rankings.period_of(today)
    return rankings.period_of(today.replace(day=1) - timedelta(days=1))


def period_label(period: str) -> str:
    first, _ = rankings.period_bounds(period)
    return f"{first.year}年{first.month}月"


def period_choices(today: date, count: int = PICKER_MONTHS) -> list[tuple[str, str]]:
    """The months the draft dialog offers, newest (the default) first."""
    out, period = [], default_period(today)
    for _ in range(count):
        out.append((period, period_label(period)))
        period = rankings.previous_period(period)
    return out


def check_period(period: str, today: date) -> str:
    """A month a circular can be drafted for: well formed, and ended (or ending today)."""
    rankings.period_bounds(period)  # malformed → a clear 400
    if period > default_period(today):
        raise ServiceError(
            f"{period_label(period)}尚未结束，不能生成通报稿（每月最后一天起可生成当月通报）。",
            field="period",
        )
    return period


def as_of_day(period: str, today: date) -> date:
    """The day the circular's figures stand at: the month's last day (today, while it runs)."""
    _, last = rankings.period_bounds(period)
    return min(last, today)


# ---------------------------------------------------------------- the figures


def ranking(root: Unit, period: str, today: date) -> dict[str, list[dict]]:
    """Per intermediate and base court below `root`, the items due in `period`, ranked
    by on-time rate then overdue count — the same figures as the rankings page
    (app.dashboard.rankings), frozen into the circular's data."""
    return {
        level: [
            {
                "rank": r.rank,
                "unit_id": r.unit_id,
                "unit": r.unit,
                "total": r.total,
                "closed": r.closed,
                "on_time": r.on_time,
                "overdue": r.overdue,
                "rate": r.rate,
            }
            for r in rankings.ranking(root, level, period, today)
        ]
        for level in RANKED_LEVELS
    }


def red_list(root: Unit, as_of: date, limit: int = RED_LIST_SIZE) -> list[dict]:
    """The items below `root` overdue the longest on `as_of` (the month's last day): past
    their deadline then and not closed by then — closed since or not.
    Days overdue are counted to `as_of`. A split is listed once, as everywhere else."""
    open_then = or_(Assignment.status != "closed", Assignment.closed_on > as_of)
    stmt = (
        select(Assignment.id, Task.title, Assignment.period_label, Unit.id, Unit.name, Assignment.deadline)
        .join(Task, Task.id == Assignment.task_id)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.unit_id.in_(authz.scope_unit_ids_of(root.id)))
        .where(Assignment.deadline.is_not(None), Assignment.deadline < as_of, open_then)
        .where(Assignment.parent_id.is_(None))
        .order_by(Assignment.deadline, Assignment.id)
        .limit(limit)
    )
    return [
        {
            "assignment_id": aid,
            "title": title + (f"（{label}）" if label else ""),
            "unit_id": unit_id,
            "unit": unit,
            "deadline": deadline.isoformat(),
            "days": (as_of - deadline).days,
        }
        for aid, title, label, unit_id, unit, deadline in db.session.execute(stmt).all()
    ]


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _rate_of(r: dict) -> str:
    return _pct(r["rate"])


def _overdue_of(r: dict) -> str:
    return f"{r['overdue']} 项"


def _names(rows: list[dict], figure: Callable[[dict], str]) -> str:
    """ "甲（100.0%）、乙（100.0%）": the first few courts with their figure, then "等 n 个法院"."""
    shown = "、".join(f"{r['unit']}（{figure(r)}）" for r in rows[:NAMES_SHOWN])
    return shown + (f"等 {len(rows)} 个法院" if len(rows) > NAMES_SHOWN else "")


def _level_text(cn: str, label: str, month: str, rows: list[dict]) -> str:
    """One level's paragraph, worded from the ranks and the figures: the first place and
    the last place by name, each with its rate (a court is never praised and blamed by
    the same words), then where the overdue items are."""
    text = f"　　{cn}、{label}："
    ranked = [r for r in rows if r["rank"] is not None]
    if not ranked:
        if any(r["total"] for r in rows):
            return text + f"{month}到期的事项尚在办理期限内，暂不排名。"
        return text + f"{month}无到期事项。"
    first = [r for r in ranked if r["rank"] == 1]
    last_rank = max(r["rank"] for r in ranked)
    if len(ranked) == 1:
        text += f"{month}只有{ranked[0]['unit']}有可排名的到期事项，按期完成率为{_rate_of(ranked[0])}。"
    elif last_rank == 1:
        text += f"{_names(first, _rate_of)}按期完成率相同，并列第一。"
    else:
        last = [r for r in ranked if r["rank"] == last_rank]
        text += f"按期完成率排名第一的是{_names(first, _rate_of)}{'（并列）' if len(first) > 1 else ''}；"
        text += f"排名末位的是{_names(last, _rate_of)}{'（并列）' if len(last) > 1 else ''}，请认真查找原因、加快进度。"
    late = [r for r in rows if r["overdue"]]
    if not late:
        return text + "各法院均无逾期事项。"
    total = sum(r["overdue"] for r in late)
    if len(late) == 1:
        return text + f"逾期事项 {total} 项，均在{late[0]['unit']}。"
    most = max(r["overdue"] for r in late)
    top = [r for r in late if r["overdue"] == most]
    return (
        text + f"逾期事项共 {total} 项，分布在 {len(late)} 个法院，其中最多的是{_names(top, _overdue_of)}。"
    )


def _draft_body(root: Unit, period: str, data: dict, today: date) -> str:
    month = period_label(period)
    short = f"{rankings.period_bounds(period)[0].month}月"
    as_of = date.fromisoformat(data["as_of"])
    parts = [
        "各中级人民法院、基层人民法院：",
        f"　　现将{month}全省法院人民法庭建设重点工作完成情况通报如下。",
    ]
    for n, (level, label) in enumerate(RANKED_LEVELS.items(), 1):
        parts.append(_level_text("一二三四"[n - 1], label, short, data["ranking"][level]))
    red = data["red_list"]
    if red:
        parts.append(
            f"　　三、截至{fmt_date_cn(as_of)}，逾期时间最长的 {len(red)} 项事项列入“红榜”（见附表），"
            "请相关法院逐项说明原因，限期办结。"
        )
    else:
        parts.append(f"　　三、截至{fmt_date_cn(as_of)}，全省没有逾期未办结的事项。")
    parts.append("　　请各单位对照通报查找差距，压实责任，确保各项任务按期完成。")
    parts.append(f"\n{root.name}\n{fmt_date_cn(today)}")
    return "\n".join(parts)


def draft_data(unit: Unit, period: str, today: date) -> dict:
    """The figures a draft freezes, all for `period`: its ranking and the red list at its
    last day (reads only — a background job computes them without the write lock)."""
    as_of = as_of_day(period, today)  # a malformed period is refused before anything is made
    return {
        "period": period,
        "as_of": as_of.isoformat(),
        "drafted_on": today.isoformat(),
        "ranking": ranking(unit, period, today),
        "red_list": red_list(unit, as_of),
    }


def figures_as_of(circular: Circular) -> date | None:
    """The day the circular's red list stands at."""
    raw = (circular.data or {}).get("as_of")
    try:
        return date.fromisoformat(raw) if raw else None
    except (TypeError, ValueError):
        return None


def make_draft(unit: Unit, period: str, now: datetime, *, data: dict | None = None) -> Circular:
    """The draft circular of `unit` (the high court) for `period`; the existing one if
    there is one already (never overwrites a reviewer's edits). `data`: figures from
    `draft_data` computed beforehand. Flushes."""
    existing = db.session.scalar(
        select(Circular).where(Circular.unit_id == unit.id, Circular.period == period)
    )
    if existing is not None:
        return existing
    today = to_local(now).date()
    data = data if data is not None else draft_data(unit, period, today)
    circular = Circular(
        unit_id=unit.id,
        period=period,
        title=f"关于{period_label(period)}人民法庭建设工作情况的通报",
        body=_draft_body(unit, period, data, today),
        data=data,
        status="draft",
        created_at=now,
    )
    try:
        with db.session.begin_nested():  # two makers at once: the second finds the first's
            db.session.add(circular)
    except IntegrityError:
        return db.session.scalar(
            select(Circular).where(Circular.unit_id == unit.id, Circular.period == period)
        )
    record(
        None, "circular.draft", circular, None, snapshot(circular, JOURNAL_FIELDS), unit_id=unit.id, now=now
    )
    return circular


def _editable(circular: Circular) -> None:
    if circular.status == "issued":
        raise ServiceError("该通报已印发，不能再修改。")


def save_circular(
    actor: Any, circular: Circular, *, title: str, body: str, expected_version: Any, now: datetime
):
    """Save the reviewer's text (optimistic version check → 409)."""
    _editable(circular)
    check_version(circular, expected_version)
    if not body.strip():
        raise ServiceError("通报正文不能为空。", field="body")
    before = snapshot(circular, JOURNAL_FIELDS)
    circular.title = (title or circular.title).strip()[:200]
    circular.body = body
    db.session.flush()
    record(
        actor,
        "circular.save",
        circular,
        before,
        snapshot(circular, JOURNAL_FIELDS),
        unit_id=circular.unit_id,
        now=now,
    )
    return circular


def addressee_ids(circular: Circular) -> set[int]:
    """The courts the circular names: every court of its ranking tables and every unit
    holding an item of its red list (units that still exist)."""
    data = circular.data or {}
    named = {r.get("unit_id") for rows in (data.get("ranking") or {}).values() for r in rows or []}
    red = data.get("red_list") or []
    named |= {r.get("unit_id") for r in red}
    missing = [r["assignment_id"] for r in red if not r.get("unit_id") and r.get("assignment_id")]
    if missing:  # drafted before the red list kept its units' ids
        named |= set(db.session.scalars(select(Assignment.unit_id).where(Assignment.id.in_(missing))))
    named.discard(None)
    if not named:
        return set()
    return set(db.session.scalars(select(Unit.id).where(Unit.id.in_(named))))


def _readers(unit_ids: set[int]) -> list[tuple[int, int]]:
    """(user id, unit id) of the active people of these courts who work on items (those a
    催办单 goes to): they are told, and their reading is counted."""
    if not unit_ids:
        return []
    return list(
        db.session.execute(
            select(User.id, User.unit_id)
            .where(User.unit_id.in_(unit_ids), User.active.is_(True))
            .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(authz.RECEIVER_ROLES))))
            .order_by(User.id)
        ).tuples()
    )


def issue_circular(actor: Any, circular: Circular, *, expected_version: Any, now: datetime) -> Circular:
    """Issue the circular: from now on it is read-only; the courts it names (and the
    units above them) may read it, and their people are told once, in the notification
    centre and by e-mail as each chose; each person's reading is recorded."""
    _editable(circular)
    check_version(circular, expected_version)
    before = snapshot(circular, JOURNAL_FIELDS)
    circular.status, circular.issued_by_id, circular.issued_at = "issued", actor.id, now
    db.session.flush()
    courts = addressee_ids(circular)
    db.session.add_all(CircularAddressee(circular_id=circular.id, unit_id=uid) for uid in sorted(courts))
    readers = _readers(courts)
    db.session.add_all(
        CircularRead(circular_id=circular.id, user_id=uid, unit_id=unit) for uid, unit in readers
    )
    db.session.flush()
    told = notify_users(
        [uid for uid, _ in readers],
        kind="circular",
        subject_type="Circular",
        subject_id=circular.id,
        message=f"【月末通报】{circular.title}已印发，请查阅。",
        dedupe_key=f"circular:{circular.id}",
        actor_id=actor.id,
        now=now,
        email=True,  # and by e-mail as each person chose (immediate or in the day's digest)
    )
    after = snapshot(circular, JOURNAL_FIELDS) | {"addressees": len(courts), "recipients": told}
    record(actor, "circular.issue", circular, before, after, unit_id=circular.unit_id, now=now)
    return circular


# ---------------------------------------------------------------- who reads it
#
# The policy for circulars, written here on authz's subtree helpers until app/authz.py
# takes it over: a draft is its court's reviewers' alone; an issued circular is read by
# its own court's subtree and by every court it names and the units above them.


def may_read(user: Any, circular: Circular) -> bool:
    """An issued circular: its court's subtree, the courts it names and the units above
    them. A draft: the reviewers of its court. (The policy decides: app.authz.)"""
    return authz.sees(user, circular) and authz.can(user, "circular.view", circular)


def load_readable(circular_id: int, user: Any) -> Circular:
    """Load → readable, else 404 (a court not named never learns it exists) or 403 (its
    own court's people, on a draft). Denials go to the audit log."""
    return authz.get_scoped_or_404(Circular, circular_id, "circular.view", user)


def is_issuing_side(user: Any, circular: Circular) -> bool:
    return circular.unit_id in authz.visible_unit_ids(user)


def mark_read(actor: Any, circular: Circular, now: datetime) -> bool:
    """Record that an addressed person opened the issued circular (the first time only)."""
    if circular.status != "issued":
        return False
    receipt = mark_first_read(CircularRead, "circular_id", circular.id, actor.id, now)
    if receipt is None:
        return False
    record(actor, "circular.read", circular, None, {"read_at": now}, unit_id=receipt.unit_id, now=now)
    return True


def receipts(user: Any, circular: Circular) -> list[CircularRead]:
    """The receipts of the people in the viewer's subtree (the issuing court: all of
    them), unread first, by court."""
    return list(
        db.session.scalars(
            select(CircularRead)
            .join(Unit, Unit.id == CircularRead.unit_id)
            .where(CircularRead.circular_id == circular.id)
            .where(CircularRead.unit_id.in_(authz.scope_unit_ids(user)))
            .order_by(CircularRead.read_at.is_not(None), Unit.sort_order, Unit.id, CircularRead.user_id)
        )
    )


def read_counts(user: Any, circular_ids: list[int]) -> dict[int, tuple[int, int]]:
    """{circular id: (read, total)} over the receipts in the viewer's subtree. One query."""
    if not circular_ids:
        return {}
    rows = db.session.execute(
        select(CircularRead.circular_id, func.count(CircularRead.read_at), func.count())
        .where(CircularRead.circular_id.in_(circular_ids))
        .where(CircularRead.unit_id.in_(authz.scope_unit_ids(user)))
        .group_by(CircularRead.circular_id)
    ).all()
    return {cid: (read, total) for cid, read, total in rows}


def my_receipts(user: Any, circular_ids: list[int]) -> dict[int, datetime | None]:
    """{circular id: when the user read it (None: not yet)} for the circulars sent to them."""
    if not circular_ids:
        return {}
    return dict(
        db.session.execute(
            select(CircularRead.circular_id, CircularRead.read_at).where(
                CircularRead.user_id == user.id, CircularRead.circular_id.in_(circular_ids)
            )
        ).all()
    )


def circular_docx(circular: Circular) -> bytes:
    """The circular as a Word file: A4, title, body, ranking tables and the red list."""
    from app.exports.docx import HEADING_FONT, Report, lines

    doc = Report(page_numbers=False)
    doc.title(circular.title)
    for line in lines(circular.body):
        doc.paragraph(line)
    data = circular.data or {}
    for level, label in RANKED_LEVELS.items():
        doc.paragraph(f"附表：{label}按期完成情况排名", font=HEADING_FONT, size=14)
        doc.table(
            ["名次", "单位", "到期事项", "已办结", "按期办结", "逾期", "按期完成率"],
            [
                [
                    "—" if r["rank"] is None else str(r["rank"]),
                    r["unit"],
                    str(r["total"]),
                    str(r["closed"]),
                    str(r["on_time"]),
                    str(r["overdue"]),
                    _pct(r["rate"]),
                ]
                for r in data.get("ranking", {}).get(level, [])
            ],
            header_font=HEADING_FONT,
            center=False,
        )
    doc.paragraph("附表：逾期事项红榜", font=HEADING_FONT, size=14)
    if not data.get("red_list"):
        doc.paragraph("截至通报之日，没有逾期未办结的事项。")
        return doc.to_bytes()
    doc.table(
        ["序号", "事项", "承办单位", "完成时限", "逾期天数"],
        [
            [str(i), r["title"], r["unit"], r["deadline"], str(r["days"])]
            for i, r in enumerate(data.get("red_list", []), 1)
        ],
        header_font=HEADING_FONT,
        center=False,
    )
    return doc.to_bytes()
