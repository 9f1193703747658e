"""Supervisory visits (督导走访) with their leaders and targets, the findings recorded
on them — each a rectification item (整改) with one assignment, as
app/visits/services.add_finding makes it — and leaders' pairings (联系点)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.benchgen.context import Clock, Province, journal
from app.benchgen.items import Planner
from app.benchgen.names import FINDINGS, VISIT_SUMMARIES, VISIT_TOPICS, person
from app.benchgen.shapes import Shape
from app.benchgen.writer import BulkWriter
from app.extensions import db
from app.visits.models import VisitKind

ORGANIZER_LEVELS = (["intermediate", "base", "high"], [50, 35, 15])


def _visit_snapshot(row: dict, leaders: list[int], targets: list[int]) -> dict:
    keys = ("kind_id", "organizer_unit_id", "title", "planned_start", "planned_end", "actual_start")
    keys += ("actual_end", "team", "topics", "summary", "suggestions", "solved_on_spot", "status")
    return {**{k: row[k] for k in keys}, "leaders": sorted(leaders), "targets": sorted(targets)}


def build_visits(
    w: BulkWriter, p: Province, shape: Shape, clock: Clock, rng: random.Random, planner: Planner
) -> None:
    kinds = list(db.session.scalars(select(VisitKind.id).order_by(VisitKind.id)))
    by_level = {
        "high": [p.high],
        "intermediate": list(p.intermediates),
        "base": [b for b in p.bases if p.children[b]],
    }
    done: list[tuple[dict, list[int], list[int]]] = []
    days = (clock.span_end - clock.span_start).days
    for _ in range(shape.visits):
        level = rng.choices(*ORGANIZER_LEVELS)[0]
        organizer = rng.choice(by_level[level] or by_level["intermediate"])
        pool = [u for u in [organizer, *p.ancestors(organizer)] if p.users(u, ("leader",))][0]
        leaders = rng.sample(
            p.users(pool, ("leader",)), min(len(p.users(pool, ("leader",))), rng.randint(1, 2))
        )
        below = p.below(organizer)
        tribunals = [u for u in below if p.units[u].level == "tribunal"] or below
        targets = rng.sample(tribunals, min(len(tribunals), rng.randint(1, 3)))
        start = clock.span_start + timedelta(days=rng.randint(0, days))
        end = start + timedelta(days=rng.choice([0, 0, 1, 2]))
        created = clock.at(
            min(start - timedelta(days=rng.randint(3, 30)), clock.today - timedelta(days=1)), rng
        )
        short = p.units[targets[0]].name.replace("人民法庭", "法庭")
        row = {
            "id": w.new_id("visits"),
            "kind_id": rng.choice(kinds),
            "organizer_unit_id": organizer,
            "title": f"{short}{rng.choice(['督导走访', '蹲点指导', '调研', '巡回督导'])}",
            "planned_start": start,
            "planned_end": end,
            "actual_start": None,
            "actual_end": None,
            "team": f"{person(rng)}、{person(rng)}",
            "topics": rng.choice(VISIT_TOPICS),
            "summary": None,
            "suggestions": None,
            "solved_on_spot": None,
            "status": "planned",
            "created_by_id": leaders[0],
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
        planned = _visit_snapshot(row, leaders, targets)
        recorded = end < clock.today and rng.random() < 0.92  # the rest passed without a record
        if recorded:
            row |= {"actual_start": start, "actual_end": end, "status": "done", "version": 2}
            row |= {"summary": rng.choice(VISIT_SUMMARIES), "suggestions": "加强诉前调解与综治中心的衔接。"}
            row["solved_on_spot"] = "协调解决法庭车辆调配问题。" if rng.random() < 0.3 else None
            row["updated_at"] = clock.at(min(end + timedelta(days=rng.randint(0, 3)), clock.today), rng)
        w.add("visits", row)
        for leader in sorted(leaders):
            w.add("visit_leaders", {"visit_id": row["id"], "user_id": leader})
        for target in targets:
            w.add("visit_targets", {"visit_id": row["id"], "unit_id": target})
        journal(w, created, leaders[0], "visit.create", "Visit", row["id"], organizer, None, planned)
        if recorded:
            after = _visit_snapshot(row, leaders, targets)
            journal(
                w,
                row["updated_at"],
                leaders[0],
                "visit.record",
                "Visit",
                row["id"],
                organizer,
                planned,
                after,
            )
            done.append((row, leaders, targets))
    if done:
        for row, leaders, targets in sorted(
            rng.choices(done, k=shape.rectifications), key=lambda d: d[0]["id"]
        ):
            add_finding(w, p, clock, rng, planner, row, leaders, targets)


def add_finding(
    w, p: Province, clock: Clock, rng: random.Random, planner: Planner, visit: dict, leaders, targets
) -> None:
    """发现问题 → a rectification item for the unit, verified (销号) by the visit's leader."""
    unit = rng.choice(targets)
    leader = leaders[0]
    organizer = visit["organizer_unit_id"]
    description = rng.choice(FINDINGS)
    created = clock.at(min(visit["actual_end"] + timedelta(days=rng.randint(0, 2)), clock.today), rng)
    deadline = created.date() + timedelta(days=rng.randint(15, 60))
    tid = w.new_id("tasks")
    title = "整改：" + description
    task = {
        "id": tid,
        "kind": "rectification",
        "project_id": None,
        "owner_unit_id": organizer,
        "verifier_id": leader,
        "title": title,
        "requirements": description,
        "category_id": None,
        "lead_leader": None,
        "priority": "high",
        "deadline_kind": "date",
        "deadline": deadline,
        "recurrence": None,
        "report_every": None,
        "notes": None,
        "source_key": None,
        "created_by_id": leader,
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }
    w.add("tasks", task)
    snap = {k: task[k] for k in ("title", "requirements", "category_id", "lead_leader", "priority")}
    snap |= {k: task[k] for k in ("deadline_kind", "deadline", "recurrence", "report_every", "notes")}
    journal(w, created, leader, "task.create", "Task", tid, organizer, None, snap)
    planner._assignment(
        tid, title, unit, organizer, created, deadline=deadline, rect=True, creator=leader, reviewer=leader
    )
    fid = w.new_id("findings")
    w.add(
        "findings",
        {
            "id": fid,
            "visit_id": visit["id"],
            "unit_id": unit,
            "description": description,
            "task_id": tid,
            "created_by_id": leader,
            "created_at": created,
        },
    )
    after = {"unit_id": unit, "description": description, "deadline": deadline}
    journal(w, created, leader, "finding.create", "Finding", fid, unit, None, after)


def build_pairings(w: BulkWriter, p: Province, clock: Clock, rng: random.Random) -> None:
    """联系点: each leader of an intermediate or base court supervises one or two units below."""
    for unit in [*p.intermediates, *p.bases]:
        below = p.children[unit]
        if not below:
            continue
        actor = p.anyone(unit, ("assigner", "reviewer", "admin"))
        for leader in p.users(unit, ("leader",)):
            for target in rng.sample(below, min(len(below), rng.randint(1, 2))):
                pid = w.new_id("pairings")
                at = clock.at(clock.span_start + timedelta(days=rng.randint(0, 60)), rng)
                w.add("pairings", {"id": pid, "leader_id": leader, "unit_id": target, "created_at": at})
                after = {"leader_id": leader, "unit_id": target}
                journal(w, at, actor, "pairing.create", "Pairing", pid, target, None, after)
