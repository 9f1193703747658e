"""月末通报: the month-end circular. The scheduler drafts it (ranking of the courts by
on-time rate and overdue count, the red list of the longest-overdue items); a
reviewer edits the text and issues it; it prints as a Word file."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.dashboard import rankings
from app.errors import ServiceError, check_version
from app.extensions import db
from app.journal import record, snapshot
from app.org.models import Unit
from app.reminders.models import Circular
from app.timeutil import fmt_date_cn, to_local

RANKED_LEVELS = {"intermediate": "中级人民法院", "base": "基层人民法院"}
RED_LIST_SIZE = 20
JOURNAL_FIELDS = ("title", "body", "status", "issued_by_id", "issued_at")


def previous_period(today: date) -> str:
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


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


def red_list(root: Unit, today: date, limit: int = RED_LIST_SIZE) -> list[dict]:
    """The open items overdue the longest anywhere below `root` (the system drafts it:
    no user scope beyond the high court's own subtree)."""
    return rankings.red_list(None, root, today, limit=limit)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _draft_body(root: Unit, period: str, data: dict, today: date) -> str:
    year, month = period.split("-")
    parts = [
        "各中级人民法院、基层人民法院：",
        f"　　现将{int(year)}年{int(month)}月全省法院人民法庭建设重点工作完成情况通报如下。",
    ]
    for n, (level, label) in enumerate(RANKED_LEVELS.items(), 1):
        rows = [r for r in data["ranking"][level] if r["total"]]
        cn = "一二三四"[n - 1]
        if not rows:
            parts.append(f"　　{cn}、{label}：本月无到期事项。")
            continue
        best = "、".join(r["unit"] for r in rows[:3])
        worst = [r for r in rows if r["overdue"]]
        text = f"　　{cn}、{label}：按期完成率较高的是{best}。"
        if worst:
            worst.sort(key=lambda r: -r["overdue"])
            text += (
                "逾期事项较多的是" + "、".join(f"{r['unit']}（{r['overdue']} 项）" for r in worst[:3]) + "。"
            )
        parts.append(text)
    red = data["red_list"]
    if red:
        parts.append(
            f"　　三、截至{fmt_date_cn(today)}，逾期时间最长的 {len(red)} 项事项列入“红榜”（见附表），"
            "请相关法院逐项说明原因，限期办结。"
        )
    parts.append("　　请各单位对照通报查找差距，压实责任，确保各项任务按期完成。")
    parts.append(f"\n{root.name}\n{fmt_date_cn(today)}")
    return "\n".join(parts)


def draft_data(unit: Unit, period: str, today: date) -> dict:
    """The figures a draft freezes: the ranking for `period` and the red list as of
    `today` (reads only — a background job computes them without the write lock)."""
    rankings.period_bounds(period)  # a malformed period is refused before anything is made
    return {
        "period": period,
        "as_of": today.isoformat(),
        "ranking": ranking(unit, period, today),
        "red_list": red_list(unit, today),
    }


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
    year, month = period.split("-")
    circular = Circular(
        unit_id=unit.id,
        period=period,
        title=f"关于{int(year)}年{int(month)}月人民法庭建设工作情况的通报",
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


def issue_circular(actor: Any, circular: Circular, *, expected_version: Any, now: datetime) -> Circular:
    """Issue the circular: from now on it is read-only."""
    _editable(circular)
    check_version(circular, expected_version)
    before = snapshot(circular, JOURNAL_FIELDS)
    circular.status, circular.issued_by_id, circular.issued_at = "issued", actor.id, now
    db.session.flush()
    record(
        actor,
        "circular.issue",
        circular,
        before,
        snapshot(circular, JOURNAL_FIELDS),
        unit_id=circular.unit_id,
        now=now,
    )
    return circular


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
