"""Sweep digests: one notification per person, rule and run, listing that person's items —
the most urgent first, "等 N 项" — instead of one notification per item. Its text, what
it stores for the notification centre (SweepDigest) and the links the centre shows."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from flask import url_for
from sqlalchemy import select

from app.extensions import db
from app.reminders import bp
from app.reminders.models import SweepDigest

LISTED = 5  # items named in a digest's text and linked in the notification centre
ESCALATION_NOTE = "（交办单位未设工作专班或院领导，已上报上一级单位）"


ID_SPAN = 1 << 40  # above any item id: a rank orders by days first, then by id


class Entry(NamedTuple):
    """One item of a digest, as its text and its link need it."""

    subject_type: str  # Assignment / ChecklistEntry
    subject_id: int
    title: str
    days: int  # left (due_soon), overdue, or waiting for review
    deadline: date | None
    unit: str  # the unit doing the item
    checklist_id: int | None = None


def rank(kind: str, days: int, subject_id: int) -> int:
    """Smaller is more urgent — fewest days left first for due_soon, otherwise the longest
    overdue or waiting first — and unique within a digest (the item's id breaks ties)."""
    return (days if kind == "due_soon" else -days) * ID_SPAN + subject_id


@dataclass
class Digest:
    """A running count and the LISTED most urgent of what was added (a bounded heap: a
    reviewer with 20,000 escalations costs five entries, not 20,000). What is kept is up
    to the caller: the sweep keeps (item, days) and makes the Entry of the five at the end."""

    total: int = 0
    moved: int = 0  # escalations sent one level up (no 专班 or 院领导 in the assigning unit)
    _heap: list = field(default_factory=list)  # (-rank, what): the root is the least urgent kept

    def add(self, rank: int, what: object, *, moved: bool = False) -> None:
        self.total += 1
        self.moved += moved
        heap = self._heap
        if len(heap) < LISTED:
            heapq.heappush(heap, (-rank, what))
        elif -rank > heap[0][0]:
            heapq.heapreplace(heap, (-rank, what))

    def merge(self, other: Digest) -> None:
        total, moved = self.total, self.moved
        for key, what in other._heap:
            self.add(-key, what)
        self.total, self.moved = total + other.total, moved + other.moved

    def first(self) -> list:
        """What was kept, the most urgent first."""
        return [what for _, what in sorted(self._heap, key=lambda kw: kw[0], reverse=True)]


# ---------------------------------------------------------------- text


def _note(kind: str, e: Entry) -> str:
    """What the list says after an item's title."""
    if kind == "due_soon":
        return f"{e.deadline.isoformat() if e.deadline else ''} 到期，还有 {e.days} 天"
    if kind == "review_waiting":
        return f"{e.unit}提交，已等待 {e.days} 天"
    if kind in ("escalate", "escalate_high"):
        return f"{e.unit}承办，已逾期 {e.days} 天"
    return f"已逾期 {e.days} 天"


def _one(kind: str, e: Entry, rule_days: int, note: str) -> str:
    """A digest of one item reads as the reminder always did."""
    due = e.deadline.isoformat() if e.deadline else ""
    return {
        "due_soon": f"【临期】“{e.title}”将于 {due} 到期（还有 {e.days} 天），请抓紧办理。",
        "overdue": f"【逾期】“{e.title}”已逾期 {e.days} 天（完成时限 {due}），请尽快办理并反馈。",
        "escalate": f"【督办】{e.unit}承办的“{e.title}”已逾期 {e.days} 天，请督促办理。{note}",
        "escalate_high": f"【督办】{e.unit}承办的“{e.title}”已逾期 {e.days} 天，超过 {rule_days} 天仍未办结。",
        "review_waiting": f"【待审核】{e.unit}提交的“{e.title}”已等待审核 {e.days} 天，请及时审核。",
    }[kind]


def message(kind: str, rule_days: int, first: list[Entry], total: int, moved: int = 0) -> str:
    """The notification's text: the count, the `first` (most urgent) titles, "等 N 项".
    `moved`: how many escalations went one level up."""
    if moved and moved == total:
        note = ESCALATION_NOTE
    elif moved:
        note = f"（其中 {moved} 项的交办单位未设工作专班或院领导，已上报上一级单位）"
    else:
        note = ""
    if total == 1:
        return _one(kind, first[0], rule_days, note)
    listed = "；".join(f"“{e.title}”（{_note(kind, e)}）" for e in first)
    more = f"等 {total} 项" if total > len(first) else ""
    n = total
    return {
        "due_soon": f"【临期】本单位有 {n} 项事项即将到期：{listed}{more}，请抓紧办理。",
        "overdue": f"【逾期】本单位有 {n} 项事项已逾期：{listed}{more}，请尽快办理并反馈。",
        "escalate": f"【督办】有 {n} 项交办事项已逾期未办结：{listed}{more}，请督促办理。{note}",
        "escalate_high": f"【督办】有 {n} 项事项逾期超过 {rule_days} 天仍未办结：{listed}{more}，请督促办理。",
        "review_waiting": f"【待审核】有 {n} 项事项等待您审核：{listed}{more}，请及时审核。",
    }[kind]


def nobody_message(unit: str, total: int, title: str) -> str:
    """What a superior is told, once, of a unit with nobody to remind of its own items."""
    items = f"“{title}”" if total == 1 else f"“{title}”等 {total} 项事项"
    return (
        f"【无人接收】{unit}没有可接收提醒的在岗人员，交给它的{items}的临期、逾期提醒无人收到。"
        "请为该单位开设账号，或将事项改交其他单位。"
    )


def stored_items(kind: str, first: list[Entry]) -> list[dict]:
    """The first items as SweepDigest.items keeps them (their links need no query)."""
    return [
        {
            "type": e.subject_type,
            "id": e.subject_id,
            "checklist": e.checklist_id,
            "title": e.title,
            "note": _note(kind, e),
        }
        for e in first
    ]


# ---------------------------------------------------------------- the notification centre


def _item_url(item: dict) -> str | None:
    if item["type"] == "Assignment":
        return url_for("tasks.assignment_detail", assignment_id=item["id"])
    if item["type"] == "ChecklistEntry" and item.get("checklist"):
        return url_for(
            "checklists.checklist_detail", checklist_id=item["checklist"], _anchor=f"e{item['id']}"
        )
    return None


def _more_url(kind: str, item_type: str) -> str:
    """The list holding all of them (the list applies the reader's own scope)."""
    if item_type == "checklist":
        return url_for("checklists.checklist_list")
    status = {"due_soon": "due_soon", "review_waiting": "submitted"}.get(kind, "overdue")
    return url_for(
        "tasks.assignment_list",
        status=status,
        kind="rectification" if item_type == "rectification" else "task",
    )


# Registered on the blueprint when this module is first imported: app.reminders imports
# admin_views, which imports the sweep, which imports this — before the blueprint is
# registered on any app.
@bp.app_template_global("sweep_digests")
def sweep_digests(notifications: Iterable) -> dict[int, dict]:
    """{notification id: {"total", "links": [(title, note, url)], "more": url}} for the
    digests among these notifications: one query, and none when no sweep notification
    is among them."""
    kinds = {n.id: n.kind for n in notifications if n.rule_id is not None}
    if not kinds:
        return {}
    out: dict[int, dict] = {}
    for d in db.session.scalars(select(SweepDigest).where(SweepDigest.notification_id.in_(kinds))):
        out[d.notification_id] = {
            "total": d.total,
            "links": [(it["title"], it["note"], _item_url(it)) for it in d.items],
            "more": _more_url(kinds[d.notification_id], d.item_type),
        }
    return out
