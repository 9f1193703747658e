"""The second pass: each planned assignment written as app/tasks/services would have
left it — 签收, progress reports (进度反馈), submission, return or closing, extensions —
with its journal, progress kept in step (children roll up) and a version per save."""

from __future__ import annotations

import random
from datetime import datetime

from app.benchgen.context import RECEIVER_ROLES, Clock, Province, journal
from app.benchgen.items import Item
from app.benchgen.names import REPORT_TEXTS, RETURN_REASONS
from app.benchgen.writer import BulkWriter
from app.deadlines import next_report_due
from app.timeutil import to_local

SUBMITTED = ("submitted", "closed", "returned")


def allocate_reports(items: list[Item], total: int, long_history: int, rng: random.Random) -> None:
    """Exactly `total` reports: the long item's, one for every assignment that was
    worked on, the rest at random among those."""
    worked = [it for it in items if it.status != "pending" and not it.long]
    extra = total - long_history - len(worked)
    if extra < 0:
        raise RuntimeError(f"进度反馈总数 {total} 少于已签收的事项数 {len(worked) + 1}")
    for it in worked:
        it.reports = 1
    for i in rng.choices(range(len(worked)), k=extra):
        worked[i].reports += 1
    for it in items:
        if it.long:
            it.reports = long_history


def settle_progress(items: list[Item], rng: random.Random) -> None:
    """The progress each assignment shows today; a split one shows its children's mean."""
    for it in reversed(items):  # children come after their parent
        if it.status == "closed":
            it.progress = 100
        elif it.kids:
            it.progress = round(sum(k.progress for k in it.kids) / len(it.kids))
        elif it.status == "submitted":
            it.progress = 100
        elif it.status == "in_progress":
            it.progress = rng.randint(10, 95)
        else:  # pending; returned falls back to its (absent) steps
            it.progress = 0


class Writer:
    """Writes assignments, their reports, extension requests and journal."""

    def __init__(self, w: BulkWriter, p: Province, clock: Clock, rng: random.Random):
        self.w, self.p, self.clock, self.rng = w, p, clock, rng

    def _report_times(self, it: Item) -> list[datetime]:
        n, rng = it.reports, self.rng
        if n == 0:
            return []
        end = it.submitted if it.status in SUBMITTED else it.last
        if it.status in SUBMITTED:
            times = sorted(self.clock.between(it.ack, end, rng) for _ in range(n - 1))
            return [*times, end]
        return sorted(self.clock.between(it.ack, end, rng) for _ in range(n))

    def write(self, it: Item) -> None:
        w, rng = self.w, self.rng
        events: list[tuple] = []  # (at, action, actor, changes to the assignment, what else it journals)
        own_target = 100 if it.status in SUBMITTED else it.progress if not it.kids else rng.randint(10, 95)
        times = self._report_times(it)
        authors = self.p.users(it.unit, RECEIVER_ROLES) or [it.responsible]
        reports = []
        for i, at in enumerate(times):
            last = i == len(times) - 1
            pct = round(own_target * (i + 1) / len(times))
            if not last and rng.random() < 0.15:
                pct = None
            submit = last and it.status in SUBMITTED
            author = it.responsible if rng.random() < 0.8 else rng.choice(authors)
            rid = w.new_id("progress_reports")
            text = rng.choice(REPORT_TEXTS)
            reports.append(
                {
                    "id": rid,
                    "assignment_id": it.id,
                    "author_id": author,
                    "text": text,
                    "percent": pct,
                    "submitted": submit,
                    "created_at": at,
                }
            )
            changes = {"status": "submitted" if submit else "in_progress"}
            if pct is not None:
                changes["progress_override"] = pct
            if it.every:
                changes["deadline"] = next_report_due(to_local(at).date(), it.every)
            report_after = {"text": text, "percent": pct, "submitted": submit}
            action = "assignment.submit" if submit else "assignment.report"
            events.append(
                (at, action, author, changes, ("report.create", "ProgressReport", rid, report_after))
            )
        if it.ack is not None:
            events.append((it.ack, "assignment.acknowledge", it.responsible, {"status": "in_progress"}, None))
        if it.returned is not None:
            reason = rng.choice(RETURN_REASONS)
            changes = {"status": "returned", "progress_override": None}
            events.append((it.returned, "assignment.return", it.reviewer, changes, ("review.return", reason)))
        if it.closed is not None:
            comment = rng.choice(["同意办结", None])
            events.append(
                (
                    it.closed,
                    "assignment.close",
                    it.reviewer,
                    {"status": "closed"},
                    ("review.approve", comment),
                )
            )
        ext_rows = self._extension(it, events)
        events.sort(key=lambda e: (e[0], e[1] != "assignment.acknowledge"))

        original = it.original.isoformat() if it.original else None
        state = {  # the journaled fields (app/tasks/services.ASSIGNMENT_FIELDS), dates as text
            "status": "pending",
            "deadline": original,
            "original_deadline": original,
            "progress": 0,
            "progress_override": None,
            "responsible_user_id": None,
        }
        journal(
            w,
            it.created,
            it.creator,
            "assignment.create",
            "Assignment",
            it.id,
            it.unit,
            None,
            dict(state),
            plain=True,
        )
        version, updated, last_report = 1, it.created, None
        for at, action, actor, changes, extra in events:
            before = dict(state)
            for key, value in changes.items():
                if key == "deadline":
                    it.deadline, value = value, value.isoformat()
                state[key] = value
            if action == "assignment.acknowledge":
                state["responsible_user_id"] = it.responsible
            if it.kids:
                state["progress"] = it.progress
            elif state["status"] == "closed":
                state["progress"] = 100
            else:
                state["progress"] = state["progress_override"] or 0
            version += 1
            updated = at
            journal(w, at, actor, action, "Assignment", it.id, it.unit, before, dict(state), plain=True)
            if action in ("assignment.report", "assignment.submit"):
                last_report = at
                name, otype, oid, after = extra
                journal(w, at, actor, name, otype, oid, it.unit, None, after, plain=True)
            elif action in ("assignment.return", "assignment.close"):
                journal(
                    w,
                    at,
                    actor,
                    extra[0],
                    "Assignment",
                    it.id,
                    it.unit,
                    None,
                    {"comment": extra[1]},
                    plain=True,
                )
        closed_on = to_local(it.closed).date() if it.closed else None
        w.add(
            "assignments",
            {
                "id": it.id,
                "task_id": it.task_id,
                "unit_id": it.unit,
                "assigned_by_unit_id": it.by_unit,
                "parent_id": it.parent.id if it.parent else None,
                "period_label": it.label,
                "status": it.status,
                "deadline": it.deadline,
                "original_deadline": it.original,
                "progress_override": state["progress_override"],
                "progress": it.progress,
                "responsible_user_id": it.responsible,
                "acknowledged_at": it.ack,
                "submitted_at": it.submitted,
                "closed_at": it.closed,
                "closed_on": closed_on,
                "last_report_at": last_report,
                "version": version,
                "created_at": it.created,
                "updated_at": updated,
            },
        )
        for row in reports:
            w.add("progress_reports", row)
        for row in ext_rows:
            w.add("extension_requests", row)

    def _extension(self, it: Item, events: list) -> list[dict]:
        """The extension request (and its grant), journaled as the services do."""
        if it.ext is None:
            return []
        status, asked, decided, current, wanted = it.ext
        rid = self.w.new_id("extension_requests")
        reason = "受客观条件影响，需延期完成。"
        comment = "同意延期" if status == "granted" else None
        row = {
            "id": rid,
            "assignment_id": it.id,
            "requested_by_id": it.responsible,
            "current_deadline": current,
            "requested_deadline": wanted,
            "reason": reason,
            "status": status,
            "decided_by_id": it.reviewer if decided else None,
            "decided_at": decided,
            "comment": comment,
            "created_at": asked,
        }
        after = {"from": current, "to": wanted, "reason": reason}
        journal(
            self.w, asked, it.responsible, "extension.request", "ExtensionRequest", rid, it.unit, None, after
        )
        if status == "granted":
            events.append((decided, "assignment.extend", it.reviewer, {"deadline": wanted}, None))
            after = {"status": "granted", "comment": comment}
            journal(
                self.w,
                decided,
                it.reviewer,
                "extension.granted",
                "ExtensionRequest",
                rid,
                it.unit,
                {"status": "pending"},
                after,
            )
        return [row]
