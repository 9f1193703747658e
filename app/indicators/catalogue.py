"""The indicator catalogue: one per year, seeded with the key indicators, edited by the
high court's reviewers; a new year starts as a copy of the last."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app import journal
from app.errors import Conflict, ServiceError
from app.extensions import db
from app.indicators.models import AGGREGATES, DIRECTIONS, KINDS, LEVELS, Indicator

FIELDS = (
    "code",
    "name",
    "kind",
    "aggregate",
    "unit_label",
    "weight_label",
    "direction",
    "interval_low",
    "interval_high",
    "interval_confirmed",
    "levels",
    "weight",
    "is_key",
    "sort_order",
    "description",
)

# The ten key indicators (阜新: "按照省院要求设定10项重点审判质效考评指标"). The intervals
# are EXAMPLE values, marked as such on the page, until the high court confirms its own.
DEFAULTS: list[dict[str, Any]] = [
    dict(
        code="JAL",
        name="结案率",
        kind="rate",
        unit_label="%",
        direction="higher",
        low=90,
        high=None,
        description="结案数 ÷（旧存 + 新收）",
    ),
    dict(
        code="FDSXNJAL",
        name="法定审限内结案率",
        kind="rate",
        unit_label="%",
        direction="higher",
        low=98,
        high=None,
        description="法定审限内结案数 ÷ 结案数",
    ),
    dict(
        code="YSFPXSL",
        name="一审服判息诉率",
        kind="rate",
        unit_label="%",
        direction="higher",
        low=88,
        high=None,
        description="一审结案后未上诉、未申请再审的案件 ÷ 一审结案数",
    ),
    dict(
        code="TJCSL",
        name="调解撤诉率",
        kind="rate",
        unit_label="%",
        direction="within",
        low=30,
        high=70,
        description="调解、撤诉结案数 ÷ 民事一审结案数",
    ),
    dict(
        code="GPFHL",
        name="一审判决案件被改判发回重审率",
        kind="rate",
        unit_label="%",
        direction="lower",
        low=None,
        high=2.5,
        description="被改判、发回重审数 ÷ 一审判决结案数",
    ),
    dict(
        code="CQWJ",
        name="长期未结案件数",
        kind="value",
        aggregate="sum",
        unit_label="件",
        direction="lower",
        low=None,
        high=None,
        description="审理期限超过 12 个月的未结案件（件数随法院规模而变，不设参考区间，看趋势）",
    ),
    dict(
        code="PJSLTS",
        name="案件平均审理天数",
        kind="value",
        aggregate="mean",
        unit_label="天",
        weight_label="结案数",
        direction="lower",
        low=None,
        high=60,
        description="结案案件审理天数之和 ÷ 结案数（上级汇总按结案数加权）",
    ),
    dict(
        code="SZZBL",
        name="首执案件终本率",
        kind="rate",
        unit_label="%",
        direction="lower",
        low=None,
        high=30,
        description="首次执行案件以终结本次执行程序结案数 ÷ 首次执行结案数",
    ),
    dict(
        code="ZXDWL",
        name="执行标的到位率",
        kind="rate",
        unit_label="%",
        direction="higher",
        low=40,
        high=None,
        description="实际执行到位标的额 ÷ 申请执行标的额（万元）",
    ),
    dict(
        code="SXJRZXL",
        name="生效案件进入执行率",
        kind="rate",
        unit_label="%",
        direction="lower",
        low=None,
        high=25,
        description="进入执行程序的生效案件 ÷ 生效案件数",
    ),
]
DEFAULT_LEVELS = ["high", "intermediate", "base"]
CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
YEAR_MIN, YEAR_MAX = 2000, 2100


def seed_catalogue(year: int, *, now: datetime) -> int:
    """The default key indicators for a year that has none (run by the demo and by
    `flask --app wsgi seed standards`); a year with a catalogue is left alone."""
    if db.session.scalar(select(func.count()).select_from(Indicator).where(Indicator.year == year)):
        return 0
    for i, d in enumerate(DEFAULTS):
        db.session.add(
            Indicator(
                year=year,
                code=d["code"],
                name=d["name"],
                kind=d["kind"],
                aggregate=d.get("aggregate", "ratio"),
                unit_label=d["unit_label"],
                weight_label=d.get("weight_label"),
                direction=d["direction"],
                interval_low=d["low"],
                interval_high=d["high"],
                interval_confirmed=False,
                levels=list(DEFAULT_LEVELS),
                weight=1.0,
                is_key=True,
                sort_order=(i + 1) * 10,
                description=d["description"],
            )
        )
    db.session.flush()
    return len(DEFAULTS)


def catalogue(year: int) -> list[Indicator]:
    return list(
        db.session.scalars(
            select(Indicator).where(Indicator.year == year).order_by(Indicator.sort_order, Indicator.id)
        )
    )


def years() -> list[int]:
    return list(db.session.scalars(select(Indicator.year).distinct().order_by(Indicator.year)))


def copy_catalogue(actor: Any, from_year: int, to_year: int, *, now: datetime) -> int:
    """Start a year's catalogue as a copy of another's (intervals, weights and all)."""
    _check_year(to_year)
    if catalogue(to_year):
        raise ServiceError(f"{to_year} 年的指标目录已存在，不能再复制。")
    source = catalogue(from_year)
    if not source:
        raise ServiceError(f"{from_year} 年没有指标目录可复制。")
    for ind in source:
        copy = Indicator(year=to_year, **{f: getattr(ind, f) for f in FIELDS})
        copy.levels = list(ind.levels)
        db.session.add(copy)
        journal.record(actor, "indicator.create", copy, None, journal.snapshot(copy, FIELDS), now=now)
    return len(source)


def _check_year(year: int) -> None:
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ServiceError(f"年份须在 {YEAR_MIN}–{YEAR_MAX} 之间。", "year")


def _number(value: Any, label: str, field: str, *, allow_none: bool = True) -> float | None:
    if value is None or value == "":
        if allow_none:
            return None
        raise ServiceError(f"请填写{label}。", field)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ServiceError(f"{label}须为数字。", field) from None
    if not math.isfinite(x) or abs(x) > 1e9:
        raise ServiceError(f"{label}超出范围。", field)
    return x


def clean(data: dict[str, Any], *, year: int, current: Indicator | None = None) -> dict[str, Any]:
    """Check an indicator's fields; the Chinese message names the field."""
    out: dict[str, Any] = {}
    code = (data.get("code") or "").strip()
    if not CODE_RE.fullmatch(code):
        raise ServiceError("代码须以字母开头，由字母、数字、下划线组成，至多 40 位。", "code")
    clash = db.session.scalar(
        select(Indicator.id).where(Indicator.year == year, func.upper(Indicator.code) == code.upper())
    )
    if clash and (current is None or clash != current.id):
        raise ServiceError(f"{year} 年已有代码为“{code}”的指标。", "code")
    out["code"] = code.upper()
    name = (data.get("name") or "").strip()
    if not name or len(name) > 100:
        raise ServiceError("请填写指标名称（至多 100 字）。", "name")
    out["name"] = name
    if data.get("kind") not in KINDS:
        raise ServiceError("请选择指标类型（比率或数值）。", "kind")
    out["kind"] = data["kind"]
    aggregate = "ratio" if out["kind"] == "rate" else data.get("aggregate")
    if aggregate not in AGGREGATES or (out["kind"] == "value" and aggregate == "ratio"):
        raise ServiceError("数值型指标须选择汇总方式：求和（件数）或加权平均（天数等）。", "aggregate")
    out["aggregate"] = aggregate
    out["unit_label"] = "%" if out["kind"] == "rate" else (data.get("unit_label") or "").strip()[:10]
    if not out["unit_label"]:
        raise ServiceError("请填写计量单位（如 件、天）。", "unit_label")
    weight_label = (data.get("weight_label") or "").strip()[:30] or None
    if aggregate == "mean" and not weight_label:
        raise ServiceError("加权平均的指标须写明权数是什么（如 结案数）。", "weight_label")
    out["weight_label"] = weight_label if aggregate == "mean" else None
    if data.get("direction") not in DIRECTIONS:
        raise ServiceError("请选择指标方向。", "direction")
    out["direction"] = data["direction"]
    low = _number(data.get("interval_low"), "参考区间下限", "interval_low")
    high = _number(data.get("interval_high"), "参考区间上限", "interval_high")
    if low is not None and high is not None and low > high:
        raise ServiceError("参考区间的下限不能大于上限。", "interval_low")
    if out["kind"] == "rate" and any(x is not None and not 0 <= x <= 100 for x in (low, high)):
        raise ServiceError("比率的参考区间须在 0–100（%）之间。", "interval_low")
    if out["direction"] == "within" and (low is None or high is None):
        raise ServiceError("“区间内为好”的指标须同时填写上下限。", "interval_low")
    out["interval_low"], out["interval_high"] = low, high
    out["interval_confirmed"] = bool(data.get("interval_confirmed")) and (low is not None or high is not None)
    levels = [lv for lv in (data.get("levels") or []) if lv in LEVELS]
    if not levels:
        raise ServiceError("请至少选择一个适用层级。", "levels")
    out["levels"] = [lv for lv in LEVELS if lv in levels]
    weight = _number(data.get("weight"), "权重", "weight", allow_none=False)
    if weight is None or not 0 <= weight <= 100:
        raise ServiceError("权重须在 0–100 之间。", "weight")
    out["weight"] = weight
    out["is_key"] = bool(data.get("is_key"))
    order = _number(data.get("sort_order") or 0, "排序", "sort_order", allow_none=False)
    out["sort_order"] = int(order or 0)
    description = (data.get("description") or "").strip()
    if len(description) > 500:
        raise ServiceError("说明至多 500 字。", "description")
    out["description"] = description or None
    return out


def save_indicator(
    actor: Any,
    indicator: Indicator | None,
    data: dict[str, Any],
    *,
    year: int,
    expected_version: int | None,
    now: datetime,
) -> Indicator:
    """Add an indicator to a year's catalogue or change one; journaled."""
    _check_year(year)
    values = clean(data, year=year, current=indicator)
    if indicator is None:
        indicator = Indicator(year=year, **values)
        db.session.add(indicator)
        journal.record(
            actor, "indicator.create", indicator, None, journal.snapshot(indicator, FIELDS), now=now
        )
        return indicator
    if expected_version is not None and indicator.version != expected_version:
        raise Conflict(obj=indicator)
    if indicator.kind != values["kind"] and _has_values(indicator):
        raise ServiceError("该指标已有报送数值，不能改变类型；如需改变，请新建一个指标。", "kind")
    if indicator.aggregate != values["aggregate"] and _has_values(indicator):
        raise ServiceError("该指标已有报送数值，不能改变汇总方式。", "aggregate")
    before = journal.snapshot(indicator, FIELDS)
    for k, v in values.items():
        setattr(indicator, k, v)
    after = journal.snapshot(indicator, FIELDS)
    if before != after:
        journal.record(actor, "indicator.edit", indicator, before, after, now=now)
    return indicator


def _has_values(indicator: Indicator) -> bool:
    from app.indicators.models import IndicatorValue

    return bool(
        db.session.scalar(
            select(IndicatorValue.id).where(IndicatorValue.indicator_id == indicator.id).limit(1)
        )
    )
