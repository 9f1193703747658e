"""API: checklist templates, the checklists applied from them, and their entries (issue 4).

Compliance is the weighted share of verified entries (app.checklists.queries)."""

from __future__ import annotations

from flask_login import current_user, login_required
from sqlalchemy import select

from app import attachments, authz
from app.api import bp
from app.api.core import ApiError, loads, me, run, scoped, version_for
from app.api.inputs import ChecklistApplyIn, ChecklistsQuery, EmptyQuery, EntryForm, EntryIn
from app.api.outputs import AppliedOut, ChecklistListOut, ChecklistOut, EntrySavedOut, TemplateOut
from app.checklists import services
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate
from app.checklists.queries import checklists_query, compliance_by_checklist
from app.extensions import db
from app.org.models import Unit
from app.timeutil import utcnow


def _entry_out(e: ChecklistEntry, evidence: int) -> dict:
    return {
        "id": e.id,
        "code": e.code,
        "title": e.title,
        "section": e.section,
        "status": e.status,
        "weight": e.weight,
        "evidence_required": e.evidence_required,
        "evidence": evidence,
        "due": e.due,
        "comment": e.comment,
        "version": e.version,
    }


def _evidence_counts(entry_ids: list[int]) -> dict[int, int]:
    return {i: len(files) for i, files in attachments.for_owner("ChecklistEntry", entry_ids).items()}


@bp.route("/checklist-templates")
@login_required
@bp.doc(summary="检查清单模板（已发布的各版本；模板管理员另见草稿）")
@bp.arguments(EmptyQuery, location="query")
@bp.response(200, TemplateOut(many=True))
@bp.errors(400, 401, 403)
def checklist_templates(_args: dict):
    """Published templates (every version); drafts too for those who manage templates."""
    stmt = authz.scope(select(ChecklistTemplate), ChecklistTemplate, current_user)
    if not authz.can(current_user, "template.manage"):
        stmt = stmt.where(ChecklistTemplate.status == "published")
    return list(db.session.scalars(stmt.order_by(ChecklistTemplate.family, ChecklistTemplate.version)))


@bp.route("/checklists", methods=["POST"])
@login_required
@bp.doc(summary="将已发布的模板应用到下级单位（每个单位一份清单）")
@bp.arguments(ChecklistApplyIn)
@bp.response(201, AppliedOut)
@bp.errors(400, 401, 403, 404)
def checklist_apply(args: dict):
    """Apply a published template to units strictly below the caller's (one checklist each)."""
    template = authz.get_scoped_or_404(ChecklistTemplate, args["template_id"], "template.view", current_user)
    units = []
    for uid in args["unit_ids"]:
        unit = db.session.get(Unit, uid)
        if unit is None or not authz.sees(current_user, unit):
            raise ApiError(f"单位 {uid} 不存在，或不在您的管辖范围内。", 404)
        units.append(unit)
    created = run(
        lambda: services.apply_template(
            me(), template, units, due=args["due"], now=utcnow(), reapply=args["reapply"]
        )
    )
    return {"ids": [c.id for c in created]}


@bp.route("/checklists")
@login_required
@bp.doc(summary="当前检查清单及达标率（按权限范围过滤）")
@bp.arguments(ChecklistsQuery, location="query")
@bp.response(200, ChecklistListOut)
@bp.errors(400, 401, 403, 404)
def checklist_list(args: dict):
    """Current checklists in the caller's scope, optionally under one unit and of one standard."""
    unit_id = args.get("unit")
    if unit_id:
        authz.get_scoped_or_404(Unit, unit_id, "unit.view", current_user)
    rows = list(
        db.session.scalars(checklists_query(current_user, unit_id=unit_id, family=args.get("family") or None))
    )
    compliance = compliance_by_checklist([c.id for c in rows])
    return {
        "items": [
            {
                "id": c.id,
                "unit_id": c.unit_id,
                "template_id": c.template_id,
                "family": c.family,
                "due": c.due,
                "compliance": compliance.get(c.id, 0.0),
            }
            for c in rows
        ]
    }


@bp.route("/checklists/<int:checklist_id>")
@login_required
@loads(scoped(Checklist, "checklist.view"), "c")
@bp.doc(summary="单份检查清单：检查项及达标率（已核验权重 ÷ 总权重）")
@bp.arguments(EmptyQuery, location="query")
@bp.response(200, ChecklistOut)
@bp.errors(400, 401, 403, 404)
def checklist_detail(_args: dict, c: Checklist):
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
        "due": c.due,
        "is_current": c.is_current,
        "compliance": compliance_by_checklist([c.id]).get(c.id, 0.0),
        "entries": [_entry_out(e, evidence[e.id]) for e in entries],
    }


@bp.route("/checklist-entries/<int:entry_id>", methods=["POST"])
@login_required
@loads(scoped(ChecklistEntry, "checklist.view"), "entry")
@bp.doc(
    summary="检查项：本单位填报完成（done，需要时附佐证），或上级核验通过（verified）/驳回（rejected，须写理由）",
    requestBody={
        "content": {
            "application/json": {"schema": EntryIn},
            "multipart/form-data": {"schema": EntryForm},
        }
    },
)
@bp.arguments(EntryForm, location="json_or_multipart")
@bp.response(200, EntrySavedOut)
@bp.errors(400, 401, 403, 404, 413, conflict=True)
def checklist_entry_update(args: dict, entry: ChecklistEntry):
    """done = the unit claims the item (with evidence where required);
    verified / rejected = a verifier from above decides (a rejection needs a comment).
    JSON, or a multipart form whose `files` are the evidence."""
    status, files = args["status"], args.get("files", [])
    if files and status != "done":
        raise ApiError("只有填报完成（status=done）时才能上传佐证材料。")

    version = version_for(entry, args.get("version"), "entry.claim" if status == "done" else "entry.verify")

    def save():
        if status == "done":
            return services.claim_entry(
                me(), entry, comment=args.get("comment"), files=files, now=utcnow(), expected_version=version
            )
        return services.verify_entry(
            me(), entry, decision=status, comment=args.get("comment"), now=utcnow(), expected_version=version
        )

    run(save, locked=entry)
    checklist = db.session.get(Checklist, entry.checklist_id)
    return {
        **_entry_out(entry, _evidence_counts([entry.id])[entry.id]),
        "checklist_id": checklist.id,
        "compliance": compliance_by_checklist([checklist.id]).get(checklist.id, 0.0),
    }
