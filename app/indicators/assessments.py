"""Assessment periods (月/季/半年/年): opened by a reviewer with a scoring scheme,
computed into a frozen run, reviewed, published to the courts assessed; a recomputation
is a new run with who and why. And the period's meeting with its decisions, each of
which can become an item assigned down the tree."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from app import journal
from app.dashboard import rankings
from app.errors import Conflict, ServiceError
from app.extensions import db
from app.indicators.compliance import compliance as indicator_compliance
from app.indicators.models import (
    COMPONENTS,
    MEETING_KINDS,
    PERIOD_KINDS,
    Assessment,
    AssessmentRead,
    AssessmentRun,
    Meeting,
    MeetingDecision,
)
from app.indicators.values import catalogue_for
from app.notifications import add_new_only, mark_first_read
from app.org.models import Unit
from app.tasks.writing import unit_people

NUMBER_RANGE = {"month": 12, "quarter": 4, "half": 2, "year": 1}
LEVEL_LABELS = {"intermediate": "中级法院", "base": "基层法院"}
NOTIFY_ROLES = ("leader", "coordinator", "assigner", "reviewer")
ASSESSMENT_FIELDS = ("kind", "year", "number", "level", "title", "scheme", "status", "published_version")


def period_months(kind: str, year: int, number: int) -> list[str]:
    if kind == "month":
        first, n = number, 1
    elif kind == "quarter":
        first, n = 3 * number - 2, 3
    elif kind == "half":
        first, n = 6 * number - 5, 6
    else:
        first, n = 1, 12
    return [f"{year:04d}-{m:02d}" for m in range(first, first + n)]


def period_title(kind: str, year: int, number: int) -> str:
    if kind == "month":
        return f"{year}年{number}月"
    if kind == "quarter":
        return f"{year}年第{'一二三四'[number - 1]}季度"
    if kind == "half":
        return f"{year}年{'上' if number == 1 else '下'}半年"
    return f"{year}年度"


def check_scheme(raw: dict[str, Any]) -> dict[str, float]:
    scheme = {}
    for key, label in COMPONENTS.items():
        value = raw.get(key)
        if value is None or value == "":
            value = 0
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ServiceError(f"“{label}”的权重须为数字。", f"w_{key}") from None
        if not math.isfinite(x) or not 0 <= x <= 100:
            raise ServiceError(f"“{label}”的权重须在 0–100 之间。", f"w_{key}")
        scheme[key] = x
    if sum(scheme.values()) <= 0:
        raise ServiceError("评分方案至少要有一项权重大于 0。")
    return scheme


def open_assessment(
    actor: Any,
    unit: Unit,
    *,
    kind: str,
    year: int,
    number: int,
    level: str,
    scheme: dict[str, Any],
    today: date,
    now: datetime,
) -> Assessment:
    """A new assessment period of `unit` over its courts of `level`."""
    if kind not in PERIOD_KINDS:
        raise ServiceError("请选择考评周期（月、季、半年、年）。", "kind")
    if level not in LEVEL_LABELS:
        raise ServiceError("考评对象只能是中级法院或基层法院。", "level")
    if not 2000 <= (year or 0) <= 2100:
        raise ServiceError("年度须在 2000–2100 之间。", "year")
    if not 1 <= (number or 0) <= NUMBER_RANGE[kind]:
        raise ServiceError(f"{PERIOD_KINDS[kind]}考评的期数须在 1–{NUMBER_RANGE[kind]} 之间。", "number")
    months = period_months(kind, year, number)
    if months[0] > f"{today.year:04d}-{today.month:02d}":
        raise ServiceError(f"{period_title(kind, year, number)}尚未开始，不能开启考评。", "number")
    clash = db.session.scalar(
        select(Assessment.id).where(
            Assessment.unit_id == unit.id,
            Assessment.kind == kind,
            Assessment.year == year,
            Assessment.number == number,
            Assessment.level == level,
        )
    )
    if clash:
        raise ServiceError(
            f"{period_title(kind, year, number)}{LEVEL_LABELS[level]}考评已开启，请在原考评中重新计算。"
        )
    a = Assessment(
        unit_id=unit.id,
        kind=kind,
        year=year,
        number=number,
        level=level,
        title=f"{unit.name}{period_title(kind, year, number)}{LEVEL_LABELS[level]}考评",
        scheme=check_scheme(scheme),
        status="open",
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(a)
    journal.record(
        actor, "assessment.open", a, None, journal.snapshot(a, ASSESSMENT_FIELDS), unit_id=unit.id, now=now
    )
    return a


def _components(a: Assessment, today: date) -> list[dict[str, Any]]:
    """Each assessed court's figures for the period (months not yet begun are left out)."""
    current = f"{today.year:04d}-{today.month:02d}"
    months = [m for m in period_months(a.kind, a.year, a.number) if m <= current]
    courts, holder_of = rankings.courts_of(a.unit_id, a.level)
    counts = rankings.month_counts(
        a.unit_id, holder_of, [rankings.period_bounds(m)[0] for m in months], today
    )
    checklist = rankings.court_compliance(a.unit_id, holder_of)
    units = {
        u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_([c[0] for c in courts] or [0])))
    }
    per_month = {
        m: {r.unit_id: r for r in indicator_compliance(list(units.values()), m, catalogue_for(m))}
        for m in months
    }
    rows = []
    for uid, name, parent_name in courts:
        sums = [0] * 6
        for by_court in counts.values():
            for i, v in enumerate(by_court.get(uid, (0,) * 6)):
                sums[i] += v
        total, closed, on_time, overdue, rect, rect_closed = sums
        due = closed + overdue
        rates = [r.rate for m in months if (r := per_month[m].get(uid)) and r.rate is not None]
        scores = [r.score for m in months if (r := per_month[m].get(uid)) and r.score is not None]
        rows.append(
            {
                "unit_id": uid,
                "name": name,
                "parent": parent_name or "",
                "figures": {
                    "items": total,
                    "closed": closed,
                    "on_time": on_time,
                    "overdue": overdue,
                    "rectifications": rect,
                    "rectifications_closed": rect_closed,
                },
                "components": {
                    "on_time": round(100 * on_time / due, 2) if due else None,
                    "rect_closure": round(100 * rect_closed / rect, 2) if rect else None,
                    "checklist": round(100 * checklist[uid], 2) if checklist.get(uid) is not None else None,
                    "indicator_compliance": round(sum(rates) / len(rates), 2) if rates else None,
                    "indicator_score": round(sum(scores) / len(scores), 2) if scores else None,
                },
            }
        )
    return rows


def score_rows(rows: list[dict[str, Any]], scheme: dict[str, float]) -> list[dict[str, Any]]:
    """Score = Σ weight × component ÷ Σ weight over the components the court has figures
    for (each 0–100); ranked by score, equal scores share a place; no figures: unranked."""
    for r in rows:
        parts = [(w, r["components"].get(k)) for k, w in scheme.items() if w > 0]
        got = [(w, x) for w, x in parts if x is not None]
        weight = sum(w for w, _ in got)
        r["score"] = round(sum(w * x for w, x in got) / weight, 2) if weight > 0 else None
    ranked = sorted((r for r in rows if r["score"] is not None), key=lambda r: -r["score"])
    last, place = None, 0
    for i, r in enumerate(ranked, 1):
        if r["score"] != last:
            place, last = i, r["score"]
        r["rank"] = place
    for r in rows:
        r.setdefault("rank", None)
    return ranked + [r for r in rows if r["score"] is None]


def compute(
    actor: Any, a: Assessment, *, reason: str | None, expected_version: int | None, today: date, now: datetime
) -> AssessmentRun:
    """A new frozen run of the scores. After publication it needs a reason (shown with it)."""
    if expected_version is not None and a.version != expected_version:
        raise Conflict(obj=a)
    reason = (reason or "").strip()
    if a.runs and not reason:
        raise ServiceError("重新计算须写明理由（将与新结果一并显示）。", "reason")
    if len(reason) > 500:
        raise ServiceError("理由至多 500 字。", "reason")
    run = AssessmentRun(
        assessment_id=a.id,
        number=len(a.runs) + 1,
        computed_at=now,
        computed_by_id=actor.id,
        reason=reason or None,
        scheme=dict(a.scheme),
        rows=score_rows(_components(a, today), a.scheme),
    )
    a.runs.append(run)
    before = journal.snapshot(a, ASSESSMENT_FIELDS)
    if a.status == "open":
        a.status = "computed"
    db.session.flush()
    journal.record(
        actor,
        "assessment.compute",
        a,
        before,
        {**journal.snapshot(a, ASSESSMENT_FIELDS), "run": run.number, "reason": run.reason},
        unit_id=a.unit_id,
        now=now,
    )
    return run


def publish(actor: Any, a: Assessment, *, expected_version: int | None, now: datetime) -> int:
    """Publish the latest run (frozen from now on) and tell the courts assessed."""
    if expected_version is not None and a.version != expected_version:
        raise Conflict(obj=a)
    if not a.runs:
        raise ServiceError("请先计算得分，再发布。")
    latest = a.runs[-1]
    if a.status == "published" and a.published_version == latest.number:
        raise ServiceError("该结果已经发布。")
    before = journal.snapshot(a, ASSESSMENT_FIELDS)
    a.status, a.published_version, a.published_at, a.published_by_id = (
        "published",
        latest.number,
        now,
        actor.id,
    )
    db.session.flush()
    journal.record(
        actor,
        "assessment.publish",
        a,
        before,
        journal.snapshot(a, ASSESSMENT_FIELDS),
        unit_id=a.unit_id,
        now=now,
    )
    court_ids = [r["unit_id"] for r in latest.rows]
    readers = [(uid, unit_id) for unit_id, uid in unit_people(court_ids, NOTIFY_ROLES)]
    _receipts_for(a, readers)
    people = [uid for uid, _ in readers]
    rows = [
        {
            "recipient_id": uid,
            "kind": "assessment",
            "subject_type": "Assessment",
            "subject_id": a.id,
            "message": f"{a.title}结果已发布（第 {latest.number} 版），请查看本院得分与名次。",
            "dedupe_key": f"assessment:{a.id}:{latest.number}",
            "created_by_id": actor.id,
            "created_at": now,
        }
        for uid in people
    ]
    return len(add_new_only(rows, now=now))


def _receipts_for(a: Assessment, readers: list[tuple[int, int]]) -> None:
    """A receipt per person told; a new version asks everyone to read again."""
    have = {
        r.user_id: r
        for r in db.session.scalars(select(AssessmentRead).where(AssessmentRead.assessment_id == a.id))
    }
    for r in have.values():
        r.read_at = None
    db.session.add_all(
        AssessmentRead(assessment_id=a.id, user_id=uid, unit_id=unit_id)
        for uid, unit_id in readers
        if uid not in have
    )
    db.session.flush()


def mark_read(actor: Any, a: Assessment, now: datetime) -> bool:
    """An assessed court's person opened the published results (first time per version)."""
    if a.status != "published":
        return False
    receipt = mark_first_read(AssessmentRead, "assessment_id", a.id, actor.id, now)
    if receipt is None:
        return False
    journal.record(
        actor,
        "assessment.read",
        a,
        None,
        {"read_at": now, "version": a.published_version},
        unit_id=receipt.unit_id,
        now=now,
    )
    return True


def receipts(user: Any, a: Assessment) -> list[AssessmentRead]:
    """The receipts of the people in the viewer's subtree (the assessing court: all),
    unread first, by court. One query."""
    from app import authz

    return list(
        db.session.scalars(
            select(AssessmentRead)
            .join(Unit, Unit.id == AssessmentRead.unit_id)
            .where(
                AssessmentRead.assessment_id == a.id, AssessmentRead.unit_id.in_(authz.scope_unit_ids(user))
            )
            .order_by(AssessmentRead.read_at.is_not(None), Unit.sort_order, Unit.id, AssessmentRead.user_id)
        )
    )


def published_run(a: Assessment) -> AssessmentRun | None:
    if a.published_version is None:
        return None
    return next((r for r in a.runs if r.number == a.published_version), None)


# ---------------------------------------------------------------- meetings


def save_meeting(
    actor: Any,
    a: Assessment,
    meeting: Meeting | None,
    *,
    held_on: date | None,
    attendees: str,
    analysis: str,
    decisions: str,
    expected_version: int | None,
    now: datetime,
) -> Meeting:
    """The period's meeting record; its decisions one per line (a decision already turned
    into an item keeps its text and link)."""
    if a.status != "published":
        raise ServiceError("会议记录须针对已发布的考评结果（会上研判的是冻结的数据）。")
    if held_on is None:
        raise ServiceError("请填写会议日期。", "held_on")
    attendees, analysis = (attendees or "").strip(), (analysis or "").strip()
    if not attendees:
        raise ServiceError("请填写参会人员。", "attendees")
    if not analysis:
        raise ServiceError("请填写分析研判内容。", "analysis")
    lines = [line.strip() for line in (decisions or "").splitlines() if line.strip()]
    if len(lines) > 50:
        raise ServiceError("议定事项至多 50 项。", "decisions")
    if any(len(line) > 500 for line in lines):
        raise ServiceError("每项议定事项至多 500 字。", "decisions")
    fields = ("held_on", "attendees", "analysis")
    if meeting is None:
        meeting = Meeting(
            assessment_id=a.id,
            created_by_id=actor.id,
            created_at=now,
            held_on=held_on,
            attendees=attendees,
            analysis=analysis,
        )
        db.session.add(meeting)
        before = None
    else:
        if expected_version is not None and meeting.version != expected_version:
            raise Conflict(obj=meeting)
        before = {**journal.snapshot(meeting, fields), "decisions": [d.text for d in meeting.decisions]}
        meeting.held_on, meeting.attendees, meeting.analysis = held_on, attendees, analysis
    kept = {d.text: d for d in meeting.decisions}
    linked = [d for d in meeting.decisions if d.task_id and d.text not in lines]
    if linked:
        raise ServiceError(
            f"议定事项“{linked[0].text[:30]}”已交办，不能删改；如需调整，请在交办的事项中办理。", "decisions"
        )
    meeting.decisions = [kept.get(text) or MeetingDecision(number=0, text=text) for text in lines]
    for i, d in enumerate(meeting.decisions, 1):
        d.number = i
    db.session.flush()
    journal.record(
        actor,
        "meeting.save",
        meeting,
        before,
        {**journal.snapshot(meeting, fields), "decisions": lines},
        unit_id=a.unit_id,
        now=now,
    )
    return meeting


def decision_to_item(
    actor: Any,
    decision: MeetingDecision,
    *,
    project: Any,
    units: list[Unit],
    deadline: date | None,
    requirements: str | None,
    today: date,
    now: datetime,
) -> Any:
    """会议议定事项 → 交办: one item in the project, assigned to the units, linked both ways."""
    from app.tasks import services as task_services

    if decision.task_id is not None:
        raise ServiceError("该议定事项已交办。")
    if deadline is None:
        raise ServiceError("请填写完成时限。", "deadline")
    if deadline < today:
        raise ServiceError("完成时限不能早于今天。", "deadline")
    meeting = decision.meeting
    kind = MEETING_KINDS[meeting.assessment.kind]
    note = f"来源：{meeting.assessment.title}{kind}（{meeting.held_on:%Y年%-m月%-d日}）议定事项第 {decision.number} 项"
    task = task_services.create_task(
        actor,
        project,
        title=decision.text[:200],
        requirements=((requirements or "").strip() or None),
        deadline_kind="date",
        deadline=deadline,
        notes=note,
        now=now,
    )
    task_services.assign_task(actor, task, units, expected_version=task.version, now=now)
    decision.task_id = task.id
    db.session.flush()
    journal.record(
        actor,
        "meeting.decision_assigned",
        meeting,
        None,
        {"decision": decision.number, "task_id": task.id, "units": [u.name for u in units]},
        unit_id=meeting.assessment.unit_id,
        now=now,
    )
    return task


def previous_meeting(meeting: Meeting | None, a: Assessment) -> Meeting | None:
    """The same court's meeting before this one (any period kind)."""
    stmt = (
        select(Meeting)
        .join(Assessment, Assessment.id == Meeting.assessment_id)
        .where(Assessment.unit_id == a.unit_id)
        .order_by(Meeting.held_on.desc(), Meeting.id.desc())
    )
    if meeting is not None:
        stmt = stmt.where(
            (Meeting.held_on < meeting.held_on)
            | ((Meeting.held_on == meeting.held_on) & (Meeting.id < meeting.id))
        )
    return db.session.scalars(stmt.limit(1)).first()


def decision_progress(decisions: list[MeetingDecision]) -> dict[int, dict[str, int]]:
    """{task id: {status: count}} of the items made from these decisions. One query."""
    from app.tasks.models import Assignment

    ids = [d.task_id for d in decisions if d.task_id]
    out: dict[int, dict[str, int]] = {}
    if not ids:
        return out
    for task_id, status, n in db.session.execute(
        select(Assignment.task_id, Assignment.status, func.count())
        .where(Assignment.task_id.in_(ids), Assignment.parent_id.is_(None))
        .group_by(Assignment.task_id, Assignment.status)
    ):
        out.setdefault(task_id, {})[status] = n
    return out
