"""API: checklist templates, the checklists applied from them, and their entries (issue 4).

Compliance is the weighted share of verified entries (app.checklists.queries)."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select

from app import attachments, authz
from app.api import bp
from app.api.util import (
    BadRequest,
    body,
    commit_or_error,
    date_field,
    int_field,
    int_list,
    query_int,
    text_field,
)
from app.checklists import services
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate
from app.checklists.queries import checklists_query, compliance_by_checklist
from app.extensions import db
from app.org.models import Unit
from app.timeutil import utcnow

ENTRY_DECISIONS = ("done", "verified", "rejected")


def _me():
    return current_user._get_current_object()


def _iso(d) -> str | None:
    return d.isoformat() if d else None


def _template_json(t: ChecklistTemplate) -> dict:
    return {
        "id": t.id,
        "name": t.name,
        "version": t.version,
        "family": t.family,
        "status": t.status,
        "description": t.description,
    }


def _entry_json(e: ChecklistEntry, evidence: int) -> dict:
    return {
        "id": e.id,
        "code": e.code,
        "title": e.title,
        "section": e.section,
        "status": e.status,
        "weight": e.weight,
        "evidence_required": e.evidence_required,
        "evidence": evidence,
        "due": _iso(e.due),
        "comment": e.comment,
    }


def _evidence_counts(entry_ids: list[int]) -> dict[int, int]:
    return {i: len(files) for i, files in attachments.for_owner("ChecklistEntry", entry_ids).items()}


@bp.route("/checklist-templates")
@login_required
def checklist_templates():
    """Published templates (every version); drafts too for those who manage templates."""
    stmt = authz.scope(select(ChecklistTemplate), ChecklistTemplate, current_user)
    if not authz.can(current_user, "template.manage"):
        stmt = stmt.where(ChecklistTemplate.status == "published")
    rows = db.session.scalars(stmt.order_by(ChecklistTemplate.family, ChecklistTemplate.version))
    return jsonify([_template_json(t) for t in rows])


@bp.route("/checklists", methods=["POST"])
@login_required
def checklist_apply():
    """Apply a published template to units strictly below the caller's (one checklist each)."""
    data = body()
    template = authz.get_scoped_or_404(
        ChecklistTemplate, int_field(data, "template_id"), "template.view", current_user
    )
    if "unit_ids" not in data:
        raise BadRequest("缺少字段 unit_ids（单位 id 数组）。")
    units = []
    for uid in int_list(data, "unit_ids"):
        unit = db.session.get(Unit, uid)
        if unit is None or not authz.sees(current_user, unit):
            raise BadRequest(f"单位 {uid} 不存在，或不在您的管辖范围内。", 404)
        units.append(unit)
    due = date_field(data, "due")
    reapply = data.get("reapply", False)
    if not isinstance(reapply, bool):
        raise BadRequest("字段 reapply 须为 true 或 false。")
    created, err = commit_or_error(
        lambda: services.apply_template(_me(), template, units, due=due, now=utcnow(), reapply=reapply)
    )
    return err or (jsonify({"ids": [c.id for c in created]}), 201)


@bp.route("/checklists")
@login_required
def checklist_list():
    """Current checklists in the caller's scope, optionally under one unit and of one standard."""
    unit_id = query_int("unit")
    if unit_id:
        authz.get_scoped_or_404(Unit, unit_id, "unit.view", current_user)
    family = request.args.get("family") or None
    rows = list(db.session.scalars(checklists_query(current_user, unit_id=unit_id, family=family)))
    compliance = compliance_by_checklist([c.id for c in rows])
    return jsonify(
        {
            "items": [
                {
                    "id": c.id,
                    "unit_id": c.unit_id,
                    "template_id": c.template_id,
                    "family": c.family,
                    "due": _iso(c.due),
                    "compliance": compliance.get(c.id, 0.0),
                }
                for c in rows
            ]
        }
    )


def _checklist_json(c: Checklist) -> dict:
    entries = list(
        db.session.scalars(
            select(ChecklistEntry)
            .where(ChecklistEntry.checklist_id == c.id)
            .order_by(ChecklistEntry.sort_order, ChecklistEntry.id)
        )
    )
    evidence = _evidence_counts([e.id for e in entries])
    return {
        "id": c.id,
        "unit_id": c.unit_id,
        "template_id": c.template_id,
        "family": c.family,
        "version": c.template.version,
        "due": _iso(c.due),
        "is_current": c.is_current,
        "compliance": compliance_by_checklist([c.id]).get(c.id, 0.0),
        "entries": [_entry_json(e, evidence[e.id]) for e in entries],
    }


@bp.route("/checklists/<int:checklist_id>")
@login_required
def checklist_detail(checklist_id: int):
    checklist = authz.get_scoped_or_404(Checklist, checklist_id, "checklist.view", current_user)
    return jsonify(_checklist_json(checklist))


def _entry_input() -> tuple[dict, list]:
    """JSON {"status", "comment"}, or multipart fields status/comment with `files` as evidence."""
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return dict(request.form), [f for f in request.files.getlist("files") if f and f.filename]
    return body(), []


@bp.route("/checklist-entries/<int:entry_id>", methods=["POST"])
@login_required
def checklist_entry_update(entry_id: int):
    """done = the unit claims the item (with evidence where required);
    verified / rejected = a verifier from above decides (a rejection needs a comment)."""
    entry = authz.get_scoped_or_404(ChecklistEntry, entry_id, "checklist.view", current_user)
    data, files = _entry_input()
    status = text_field(data, "status")
    if status not in ENTRY_DECISIONS:
        raise BadRequest("status 只能是 done（已完成，待核验）、verified（核验通过）或 rejected（驳回）。")
    comment = text_field(data, "comment", required=False)
    if files and status != "done":
        raise BadRequest("只有填报完成（status=done）时才能上传佐证材料。")

    def save():
        if status == "done":
            return services.claim_entry(_me(), entry, comment=comment, files=files, now=utcnow())
        return services.verify_entry(_me(), entry, decision=status, comment=comment, now=utcnow())

    _, err = commit_or_error(save)
    if err:
        return err
    checklist = db.session.get(Checklist, entry.checklist_id)
    return jsonify(
        {
            **_entry_json(entry, _evidence_counts([entry.id])[entry.id]),
            "checklist_id": checklist.id,
            "compliance": compliance_by_checklist([checklist.id]).get(checklist.id, 0.0),
        }
    )
