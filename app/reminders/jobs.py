"""The reminders domain's background job: the month-end circular drafted on a
reviewer's request (its ranking and red list read every item below the high court),
run by the scheduler process (app.background)."""

from __future__ import annotations

from flask import url_for

from app import authz
from app.background.registry import Outcome, job_kind
from app.background.runner import JobContext
from app.errors import ServiceError
from app.exports.xlsx import month_text
from app.extensions import db
from app.org.models import Unit
from app.reminders import circular
from app.timeutil import to_local


def _circular_link(job) -> tuple[str, str]:
    return "打开通报稿", url_for("reminders.circular_detail", circular_id=job.result["circular_id"])


@job_kind("reminders.circular", "生成月末通报稿", link=_circular_link, follow=True)
def draft_circular(ctx: JobContext) -> Outcome:
    """The draft circular of the reviewer's court for the month asked (an existing one is kept)."""
    period = ctx.params["period"]
    ctx.progress(0, 1, force=True)
    with ctx.reading():  # the ranking reads every item below the court: no write lock meanwhile
        unit = db.session.get(Unit, ctx.params["unit_id"])
        if unit is None or unit.id != ctx.owner.unit_id or not authz.can(ctx.owner, "circular.manage"):
            raise ServiceError("您已无权生成该单位的月末通报。")
        data = circular.draft_data(unit, period, to_local(ctx.now).date())
    made = circular.make_draft(db.session.get(Unit, ctx.params["unit_id"]), period, ctx.now, data=data)
    return Outcome(f"已生成{month_text(made.period)}月末通报稿。", {"circular_id": made.id})
