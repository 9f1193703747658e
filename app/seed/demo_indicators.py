"""Demo case-quality figures: twelve months of plausible values for every Liaoning demo
court, one base court (桓仁) drifting below 法定审限内结案率's interval for the last three
months (so the demo shows a 预警), and a published quarterly assessment of the base
courts with its 季度会商 record and two decisions turned into items — one of them for
华来人民法庭, which `hlft` can report on. Dates relative to the day the demo is loaded;
deterministic; skipped if present."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.indicators import assessments as svc
from app.indicators.catalogue import seed_catalogue
from app.indicators.models import Assessment, IndicatorValue
from app.indicators.values import catalogue_for, month_add, months_back, save_values
from app.indicators.warnings import run_warnings
from app.org.models import Unit, User
from app.timeutil import to_local

DRIFTING = "桓仁满族自治县人民法院"
DRIFT_CODE = "FDSXNJAL"
# code → (share of the denominator, low, high) for rates; (low, high) for values
RATES = {
    "JAL": (1.0, 0.91, 0.97),
    "FDSXNJAL": (0.93, 0.985, 0.998),
    "YSFPXSL": (0.7, 0.89, 0.95),
    "TJCSL": (0.45, 0.36, 0.6),
    "GPFHL": (0.4, 0.005, 0.022),
    "SZZBL": (0.25, 0.15, 0.28),
    "SXJRZXL": (0.5, 0.12, 0.22),
}
SCALE = {"high": 300, "intermediate": 900, "base": 1500}


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _unit(name: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.name == name))


def _figures(unit: Unit, month: str, codes: dict[str, object], drifting: bool) -> dict[str, dict]:
    rnd = random.Random(f"{unit.name}:{month}")
    cases = int(SCALE[unit.level] * rnd.uniform(0.6, 1.4))
    # Now and then a base court misses one interval for a month — a different indicator
    # each month, so that nobody but the drifting court is out three months running.
    codes_in_turn = sorted(RATES)
    slip = (
        codes_in_turn[(int(month[5:]) + sum(map(ord, unit.name))) % len(codes_in_turn)]
        if unit.level == "base" and rnd.random() < 0.35
        else None
    )
    out: dict[str, dict] = {}
    for code in codes:
        if code in RATES:
            share, low, high = RATES[code]
            den = max(1, int(cases * share))
            rate = rnd.uniform(low, high)
            if drifting and code == DRIFT_CODE:
                rate = rnd.uniform(0.94, 0.96)
            elif code == slip:  # just outside: below a floor, above a ceiling
                rate = low * 0.97 if code in ("JAL", "FDSXNJAL", "YSFPXSL") else high * 1.2
            out[code] = {"numerator": int(den * rate), "denominator": den}
        elif code == "ZXDWL":
            den = round(rnd.uniform(0.3, 2.0) * SCALE[unit.level] * 10, 1)
            out[code] = {"numerator": round(den * rnd.uniform(0.45, 0.7), 1), "denominator": den}
        elif code == "CQWJ":
            out[code] = {"value": rnd.randint(0, 4)}
        elif code == "PJSLTS":
            out[code] = {"value": round(rnd.uniform(35, 55), 1), "weight": int(cases * 0.9)}
    return out


def load_demo_indicators(now: datetime) -> int:
    """The figures, the 预警 and the assessment; returns the values written."""
    if db.session.scalar(select(IndicatorValue.id).limit(1)) is not None:
        return 0
    today = to_local(now).date()
    last = month_add(f"{today.year:04d}-{today.month:02d}", -1)
    months = months_back(last, 12)
    for year in sorted({int(m[:4]) for m in months} | {today.year}):
        seed_catalogue(year, now=now)
    courts = list(
        db.session.scalars(
            select(Unit)
            .where(Unit.level.in_(("high", "intermediate", "base")))
            .order_by(Unit.sort_order, Unit.id)
        )
    )
    written = 0
    drift_months = set(months[-3:])
    for m in months:
        by_code = {i.code: i for i in catalogue_for(m)}
        for unit in courts:
            figures = _figures(unit, m, by_code, unit.name == DRIFTING and m in drift_months)
            counts = save_values(
                None,
                unit,
                m,
                [(by_code[c], data) for c, data in figures.items()],
                source="demo",
                clear_blank=False,
                today=today,
                now=now,
            )
            written += counts["added"]
    run_warnings(today, now)
    _assessment(today, now)
    return written


def _assessment(today: date, now: datetime) -> None:
    """The last complete quarter's assessment of the base courts by the high court,
    published, with its 季度会商 and two decisions made items."""
    from app.seed.demo import DEMO_PROJECT
    from app.tasks.models import Project

    reviewer = _user("lnfy")
    high = _unit("辽宁省高级人民法院")
    quarter = (today.month - 1) // 3  # the last complete one: 0 → the year before's 4th
    year, number = (today.year, quarter) if quarter else (today.year - 1, 4)
    if db.session.scalar(select(Assessment.id).where(Assessment.unit_id == high.id)):
        return
    a = svc.open_assessment(
        reviewer,
        high,
        kind="quarter",
        year=year,
        number=number,
        level="base",
        scheme={
            "on_time": 30,
            "rect_closure": 15,
            "checklist": 15,
            "indicator_compliance": 20,
            "indicator_score": 20,
        },
        today=today,
        now=now,
    )
    svc.compute(reviewer, a, reason=None, expected_version=None, today=today, now=now)
    svc.publish(reviewer, a, expected_version=None, now=now)
    held = min(today, date(year + (number == 4), (number % 4) * 3 + 1, 15))
    meeting = svc.save_meeting(
        reviewer,
        a,
        None,
        held_on=held,
        attendees="省高院分管副院长、审管办主任、强基办全体人员；各中级人民法院分管院领导（视频）",
        analysis=(
            "本季度全省基层法院质效指标总体平稳，结案率、调解撤诉率均在参考区间内。\n"
            f"{DRIFTING}法定审限内结案率连续走低，已低于参考区间，需查明超审限案件成因。\n"
            "部分人民法庭事项按期完成率偏低，集中在诉源治理类事项。"
        ),
        decisions=(
            f"{DRIFTING}对超审限案件逐案分析，提出整改措施并报送整改方案\n"
            "华来人民法庭总结林下参产业纠纷巡回审判经验，形成可复制的工作法"
        ),
        expected_version=None,
        now=now,
    )
    project = db.session.scalar(select(Project).where(Project.name == DEMO_PROJECT))
    first, second = meeting.decisions
    svc.decision_to_item(
        reviewer,
        first,
        project=project,
        units=[_unit(DRIFTING)],
        deadline=today + timedelta(days=30),
        requirements="逐案列明超审限原因、责任人和结案计划。",
        today=today,
        now=now,
    )
    svc.decision_to_item(
        reviewer,
        second,
        project=project,
        units=[_unit("华来人民法庭")],
        deadline=today + timedelta(days=45),
        requirements="形成书面材料，附典型案例 2–3 件。",
        today=today,
        now=now,
    )
