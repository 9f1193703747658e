"""What every part of the generator shares: the clock of the generated world, the
province being built (its tree and its people), and the journal row."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.benchgen.writer import BulkWriter

RECEIVER_ROLES = ("tribunal_head", "coordinator", "staff", "assigner", "leader")  # app/authz.py
HEAD_ROLES = ("tribunal_head", "coordinator", "assigner", "leader", "staff")  # who 签收 first
REVIEWER_ROLES = ("assigner", "coordinator", "reviewer", "leader")


class Clock:
    """The generated world's calendar. `now` is 08:00 Shanghai (00:00 UTC) of `today`;
    nothing generated happens after it. Datetimes are naive UTC, as the app stores them."""

    def __init__(self, today: date, years: int):
        self.today = today
        self.now = datetime.combine(today, time(0, 0))
        self.years = years
        self.span_start = today - timedelta(days=365 * years - 60)
        self.span_end = today + timedelta(days=59)  # some items are not due yet
        self.origin = datetime.combine(self.span_start - timedelta(days=30), time(1, 0))

    def window(self, year: int) -> tuple[date, date]:
        """The dates of the `year`-th year of the programme (0 = the oldest)."""
        start = self.span_start + timedelta(days=365 * year)
        return start, start + timedelta(days=364)

    def at(self, day: date, rng: random.Random) -> datetime:
        """A moment of office hours (09:00–17:59 Shanghai) on `day`, never after now."""
        moment = datetime.combine(day, time(rng.randint(1, 9), rng.randint(0, 59), rng.randint(0, 59)))
        return min(moment, self.now - timedelta(minutes=rng.randint(1, 600)))

    def between(self, start: datetime, end: datetime, rng: random.Random) -> datetime:
        if end <= start:
            return start
        return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


@dataclass
class UnitInfo:
    id: int
    name: str
    level: str
    parent: int | None


@dataclass
class Province:
    index: int
    name: str  # e.g. 辽宁
    high: int = 0
    units: dict[int, UnitInfo] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    intermediates: list[int] = field(default_factory=list)
    bases: list[int] = field(default_factory=list)
    tribunals: list[int] = field(default_factory=list)
    people: dict[int, dict[str, list[int]]] = field(default_factory=dict)  # unit → role → users
    demo_units: dict[str, int] = field(default_factory=dict)  # demo unit name → id (辽宁 only)
    _users: dict[tuple, list[int]] = field(default_factory=dict)  # filled once the people exist
    _below: dict[int, list[int]] = field(default_factory=dict)

    def add_unit(self, info: UnitInfo) -> None:
        self.units[info.id] = info
        self.children.setdefault(info.id, [])
        if info.parent is not None:
            self.children.setdefault(info.parent, []).append(info.id)
        {"high": [], "intermediate": self.intermediates, "base": self.bases, "tribunal": self.tribunals}[
            info.level
        ].append(info.id)
        if info.level == "high":
            self.high = info.id

    def ancestors(self, unit_id: int) -> list[int]:
        """Parent first, the high court last."""
        out, current = [], self.units[unit_id].parent
        while current is not None:
            out.append(current)
            current = self.units[current].parent
        return out

    def below(self, unit_id: int) -> list[int]:
        """Every unit under `unit_id` (not itself), parents before children (the tree
        is complete by the time anyone asks, so each answer is kept)."""
        if unit_id not in self._below:
            out, stack = [], list(reversed(self.children[unit_id]))
            while stack:
                u = stack.pop()
                out.append(u)
                stack.extend(reversed(self.children[u]))
            self._below[unit_id] = out
        return self._below[unit_id]

    def intermediate_of(self, unit_id: int) -> int | None:
        for u in [unit_id, *self.ancestors(unit_id)]:
            if self.units[u].level == "intermediate":
                return u
        return None

    def users(self, unit_id: int, roles: tuple[str, ...] | None = None) -> list[int]:
        """The unit's accounts (of `roles`), by id."""
        key = (unit_id, roles)
        if key not in self._users:
            by_role = self.people.get(unit_id, {})
            found = {i for role, ids in by_role.items() if roles is None or role in roles for i in ids}
            self._users[key] = sorted(found)
        return self._users[key]

    def first(self, unit_id: int, roles: tuple[str, ...]) -> int | None:
        """The first account of the first role in `roles` that the unit has."""
        by_role = self.people.get(unit_id, {})
        for role in roles:
            if by_role.get(role):
                return by_role[role][0]
        return None

    def anyone(self, unit_id: int, roles: tuple[str, ...]) -> int:
        """Somebody of `roles` here, or of any role here, or somebody above."""
        for u in [unit_id, *self.ancestors(unit_id)]:
            found = self.first(u, roles) or self.first(u, tuple(self.people.get(u, {})))
            if found:
                return found
        raise RuntimeError(f"单位 {unit_id} 及其上级没有任何用户")


def _plain(values: dict | None) -> dict | None:
    """A snapshot as app/journal.record stores it (dates as ISO text); flat dicts only."""
    if values is None:
        return None
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def journal(
    w: BulkWriter,
    at: datetime,
    actor: int | None,
    action: str,
    object_type: str,
    object_id: int,
    unit_id: int | None,
    before: dict | None,
    after: dict | None,
    *,
    plain: bool = False,
) -> None:
    """One journal row, as app/journal.record writes it (`plain`: no dates to convert)."""
    w.add(
        "journal",
        {
            "id": w.new_id("journal"),
            "at": at,
            "actor_id": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "unit_id": unit_id,
            "before": before if plain else _plain(before),
            "after": after if plain else _plain(after),
        },
    )
