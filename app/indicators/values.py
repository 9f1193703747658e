"""Monthly values: what each court reports for itself, checked all-or-nothing, every
change journaled with the old value; and the roll-up over a subtree — rates as
Σ numerators ÷ Σ denominators, counts as sums, averages weighted by their stored weight."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select

from app import journal
from app.errors import Conflict, ServiceError
from app.extensions import db
from app.indicators.models import LEVELS, SOURCES, Indicator, IndicatorValue
from app.org.models import Unit, UnitClosure

MONTH_RE = re.compile(r"(20[0-9]{2}|2100)-(0[1-9]|1[0-2])")
MAX_NUMBER = 1e12  # 万元 of a province's enforcement targets fit with room to spare
VALUE_FIELDS = ("numerator", "denominator", "value", "weight", "source")


def check_month(month: Any, today: date) -> str:
    """'YYYY-MM', not after the current month."""
    text = month if isinstance(month, str) else ""
    if not MONTH_RE.fullmatch(text):
        raise ServiceError(f"无法识别的月份“{str(month)[:20]}”，请按“年-月”填写，例如 2026-10。", "month")
    if text > f"{today.year:04d}-{today.month:02d}":
        raise ServiceError(f"{text} 尚未到来，不能报送该月的数值。", "month")
    return text


def month_add(month: str, n: int) -> str:
    y, m = (int(p) for p in month.split("-"))
    k = y * 12 + (m - 1) + n
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def last_complete_month(today: date) -> str:
    """A month's figures come in during the next one: the month before `today`'s."""
    return month_add(f"{today.year:04d}-{today.month:02d}", -1)


def months_back(month: str, n: int) -> list[str]:
    """The n months ending with `month`, oldest first."""
    return [month_add(month, -i) for i in range(n - 1, -1, -1)]


def catalogue_for(month: str) -> list[Indicator]:
    from app.indicators.catalogue import catalogue

    return catalogue(int(month[:4]))


@dataclass
class Entry:
    """One checked value, ready to save: None everywhere = clear the value."""

    indicator: Indicator
    numerator: float | None = None
    denominator: float | None = None
    value: float | None = None
    weight: float | None = None

    @property
    def empty(self) -> bool:
        return all(x is None for x in (self.numerator, self.denominator, self.value, self.weight))


def _number(raw: Any, what: str) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ServiceError(f"{what}须为数字。")
    try:
        x = float(raw.strip().replace(",", "").replace("，", "")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise ServiceError(f"{what}须为数字，“{str(raw)[:20]}”不是数字。") from None
    if not math.isfinite(x) or abs(x) > MAX_NUMBER:
        raise ServiceError(f"{what}超出范围。")
    if x < 0:
        raise ServiceError(f"{what}不能为负数。")
    return x


def check_entry(ind: Indicator, raw: dict[str, Any]) -> Entry:
    """One indicator's input, checked (the message names the indicator)."""
    label = f"“{ind.name}”"
    if ind.kind == "rate":
        num = _number(raw.get("numerator"), f"{label}的分子")
        den = _number(raw.get("denominator"), f"{label}的分母")
        if raw.get("value") not in (None, ""):
            raise ServiceError(f"{label}是比率，请填写分子和分母，而不是比率本身。")
        if num is None and den is None:
            return Entry(ind)
        if num is None or den is None:
            raise ServiceError(f"{label}须同时填写分子和分母。")
        if den == 0:
            raise ServiceError(f"{label}的分母为 0，无法计算比率；没有案件时请留空不报。")
        if num > den:
            raise ServiceError(f"{label}的分子（{num:g}）大于分母（{den:g}），比率不能超过 100%。")
        return Entry(ind, numerator=num, denominator=den)
    if raw.get("numerator") not in (None, "") or raw.get("denominator") not in (None, ""):
        raise ServiceError(f"{label}是数值型指标，请填写数值，不填分子分母。")
    value = _number(raw.get("value"), label)
    weight = _number(raw.get("weight"), f"{label}的{ind.weight_label or '权数'}")
    if ind.aggregate == "mean":
        if value is None and weight is None:
            return Entry(ind)
        if value is None or weight is None:
            raise ServiceError(
                f"{label}是平均值，须同时填写数值和{ind.weight_label or '权数'}（上级汇总按它加权）。"
            )
        if weight == 0:
            raise ServiceError(f"{label}的{ind.weight_label or '权数'}为 0：没有案件时请留空不报。")
        return Entry(ind, value=value, weight=weight)
    if weight is not None:
        raise ServiceError(f"{label}按求和汇总，不填权数。")
    if value is not None and value != int(value):
        raise ServiceError(f"{label}是件数，须为整数。")
    return Entry(ind, value=value)


def check_unit(ind: Indicator, unit: Unit) -> None:
    if unit.level not in (ind.levels or []):
        levels = "、".join(LEVELS[lv] for lv in ind.levels if lv in LEVELS)
        raise ServiceError(f"“{ind.name}”只适用于{levels}，{unit.name}不报送该指标。")


def save_values(
    actor: Any,
    unit: Unit,
    month: str,
    raw: Iterable[tuple[Indicator, dict[str, Any]]],
    *,
    source: str,
    clear_blank: bool,
    today: date,
    now: datetime,
    expected: dict[int, int] | None = None,
) -> dict[str, int]:
    """Check every value first, then write: a bad one saves nothing. A changed value is
    a correction journaled with the old one; a blank clears a value only when
    `clear_blank` (the form's grid), never in an import or the API (blank = not reported).
    `expected`: {indicator id: the version the form was loaded with, 0 = none yet} — a
    value somebody else saved meanwhile is a conflict, never overwritten."""
    if source not in SOURCES:
        raise ServiceError("未知的数值来源。")
    month = check_month(month, today)
    entries = []
    for ind, data in raw:
        if ind.year != int(month[:4]):
            raise ServiceError(f"“{ind.name}”属于 {ind.year} 年的指标目录，不能报送 {month} 的数值。")
        entry = check_entry(ind, data)
        if not entry.empty:
            check_unit(ind, unit)
        entries.append(entry)
    existing = {
        v.indicator_id: v
        for v in db.session.scalars(
            select(IndicatorValue).where(
                IndicatorValue.unit_id == unit.id,
                IndicatorValue.month == month,
                IndicatorValue.indicator_id.in_([e.indicator.id for e in entries] or [0]),
            )
        )
    }
    if expected is not None:
        for e in entries:
            old = existing.get(e.indicator.id)
            if (old.version if old else 0) != expected.get(e.indicator.id, 0):
                raise Conflict(
                    f"{unit.name} {month} 的“{e.indicator.name}”已被他人修改，请刷新页面查看后重新填写。"
                )
    counts = {"added": 0, "changed": 0, "cleared": 0, "unchanged": 0}
    for e in entries:
        old = existing.get(e.indicator.id)
        if e.empty:
            if old is not None and clear_blank:
                journal.record(
                    actor,
                    "indicator_value.clear",
                    old,
                    _snap(old, e.indicator, unit, month),
                    None,
                    unit_id=unit.id,
                    now=now,
                )
                db.session.delete(old)
                counts["cleared"] += 1
            continue
        new = (e.numerator, e.denominator, e.value, e.weight)
        if old is None:
            v = IndicatorValue(
                indicator_id=e.indicator.id,
                unit_id=unit.id,
                month=month,
                numerator=e.numerator,
                denominator=e.denominator,
                value=e.value,
                weight=e.weight,
                source=source,
                entered_by_id=getattr(actor, "id", None),
                entered_at=now,
            )
            db.session.add(v)
            journal.record(
                actor,
                "indicator_value.add",
                v,
                None,
                _snap(v, e.indicator, unit, month),
                unit_id=unit.id,
                now=now,
            )
            counts["added"] += 1
        elif (old.numerator, old.denominator, old.value, old.weight) == new:
            counts["unchanged"] += 1
        else:
            before = _snap(old, e.indicator, unit, month)
            old.numerator, old.denominator, old.value, old.weight = new
            old.source, old.entered_by_id, old.entered_at = source, getattr(actor, "id", None), now
            journal.record(
                actor,
                "indicator_value.correct",
                old,
                before,
                _snap(old, e.indicator, unit, month),
                unit_id=unit.id,
                now=now,
            )
            counts["changed"] += 1
    db.session.flush()
    return counts


def _snap(v: IndicatorValue, ind: Indicator, unit: Unit, month: str) -> dict[str, Any]:
    return {
        "indicator": ind.code,
        "name": ind.name,
        "unit": unit.name,
        "month": month,
        **journal.snapshot(v, VALUE_FIELDS),
        "entered_by_id": v.entered_by_id,
    }


# ---------------------------------------------------------------- roll-up


@dataclass
class Agg:
    """Sums over a subtree for one indicator and month."""

    numerator: float = 0.0
    denominator: float = 0.0
    value: float = 0.0
    weighted: float = 0.0  # Σ value × weight
    weight: float = 0.0
    reports: int = 0  # how many courts' own values went in


def rollup(unit_ids: Iterable[int], months: Iterable[str]) -> dict[tuple[int, int, str], Agg]:
    """{(unit, indicator, month): sums over the unit's subtree} for these units and
    months — one grouped query over the closure table."""
    ids, ms = sorted(set(unit_ids)), sorted(set(months))
    if not ids or not ms:
        return {}
    v = IndicatorValue
    stmt = (
        select(
            UnitClosure.ancestor_id,
            v.indicator_id,
            v.month,
            func.sum(v.numerator),
            func.sum(v.denominator),
            func.sum(v.value),
            func.sum(v.value * v.weight),
            func.sum(v.weight),
            func.count(),
        )
        .join(UnitClosure, and_(UnitClosure.descendant_id == v.unit_id))
        .where(UnitClosure.ancestor_id.in_(ids), v.month.in_(ms))
        .group_by(UnitClosure.ancestor_id, v.indicator_id, v.month)
    )
    return {
        (a, i, m): Agg(num or 0.0, den or 0.0, val or 0.0, vw or 0.0, w or 0.0, n)
        for a, i, m, num, den, val, vw, w, n in db.session.execute(stmt)
    }


def value_of(ind: Indicator, agg: Agg | None) -> float | None:
    """The indicator's figure from its sums: a rate in %, a count, a weighted average."""
    if agg is None or agg.reports == 0:
        return None
    if ind.kind == "rate":
        return 100.0 * agg.numerator / agg.denominator if agg.denominator > 0 else None
    if ind.aggregate == "mean":
        return agg.weighted / agg.weight if agg.weight > 0 else None
    return agg.value


def own_values(unit_id: int, month: str) -> dict[int, IndicatorValue]:
    """What the court itself reported for the month (the form's grid)."""
    return {
        v.indicator_id: v
        for v in db.session.scalars(
            select(IndicatorValue).where(IndicatorValue.unit_id == unit_id, IndicatorValue.month == month)
        )
    }
