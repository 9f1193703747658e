"""Writes on checklist templates and the checklists applied from them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app import attachments
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate, TemplateItem, TemplateSection
from app.errors import ServiceError, hold_version
from app.extensions import db
from app.journal import record
from app.notifications import notify_users
from app.org.models import Unit, User, UserRole
from app.timeutil import to_local
from app.validation import allow as _allow
from app.validation import clean_text as _text

# ---------------------------------------------------------------- templates


def create_template(
    actor: User | None,
    *,
    family: str,
    name: str,
    description: str | None = None,
    sections: list[dict] | None = None,
    now: datetime,
) -> ChecklistTemplate:
    """A new draft template (version 1 of a family, or the next version).

    `sections`: [{"title", "items": [{"code", "title", "guidance", "weight",
    "evidence_required", "due_offset_days", "due_date"}]}]."""
    _allow(actor, "template.manage", None, "您无权管理检查清单模板。")
    family = _text(family, "模板编号", 50)
    version = (
        db.session.scalar(
            select(func.max(ChecklistTemplate.version)).where(ChecklistTemplate.family == family)
        )
        or 0
    ) + 1
    template = ChecklistTemplate(
        family=family,
        name=_text(name, "模板名称", 100),
        version=version,
        description=_text(description, "说明", 5000, False),
        created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(template)
    db.session.flush()
    for s_index, section in enumerate(sections or []):
        sec = add_section(actor, template, title=section.get("title", ""), now=now, order=s_index)
        for item in section.get("items", []):
            add_item(actor, template, sec, now=now, **item)
    record(
        actor,
        "template.create",
        template,
        None,
        {"family": family, "version": version, "name": template.name},
        now=now,
    )
    return template


def _draft(template: ChecklistTemplate) -> None:
    if template.status != "draft":
        raise ServiceError("已发布的模板不能修改；请新建一个版本。")


def add_section(
    actor: User | None, template: ChecklistTemplate, *, title: str, now: datetime, order: int | None = None
) -> TemplateSection:
    _allow(actor, "template.manage", None, "您无权管理检查清单模板。")
    _draft(template)
    if order is None:
        order = len(template.sections)
    section = TemplateSection(template_id=template.id, title=_text(title, "分组名称", 100), sort_order=order)
    template.sections.append(section)  # through the relationship, so a loaded collection stays true
    db.session.flush()
    return section


def add_item(
    actor: User | None,
    template: ChecklistTemplate,
    section: TemplateSection,
    *,
    code: str,
    title: str,
    guidance: str | None = None,
    weight: float = 1.0,
    evidence_required: bool = False,
    due_offset_days: int | None = None,
    due_date: date | None = None,
    now: datetime,
) -> TemplateItem:
    """An item of a draft template: code unique within the template, weight > 0."""
    _allow(actor, "template.manage", None, "您无权管理检查清单模板。")
    _draft(template)
    code = _text(code, "编号", 20)
    if db.session.scalar(
        select(TemplateItem.id).where(TemplateItem.template_id == template.id, TemplateItem.code == code)
    ):
        raise ServiceError(f"编号“{code}”在本模板中已被使用。")
    try:
        weight = float(weight)
    except (TypeError, ValueError):
        raise ServiceError("权重须为数字。") from None
    if not 0 < weight <= 100:
        raise ServiceError("权重须大于 0、不超过 100。")
    if due_offset_days is not None and due_offset_days < 0:
        raise ServiceError("完成期限天数不能为负数。")
    order = db.session.scalar(
        select(func.count()).select_from(TemplateItem).where(TemplateItem.template_id == template.id)
    )
    item = TemplateItem(
        template_id=template.id,
        section_id=section.id,
        code=code,
        title=_text(title, "检查项", 200),
        guidance=_text(guidance, "说明", 2000, False),
        weight=weight,
        evidence_required=bool(evidence_required),
        due_offset_days=due_offset_days,
        due_date=due_date,
        sort_order=order,
    )
    template.items.append(item)  # through the relationship, so a later publish/apply in this session sees it
    db.session.flush()
    return item


def publish_template(actor: User | None, template: ChecklistTemplate, *, now: datetime) -> ChecklistTemplate:
    _allow(actor, "template.manage", None, "您无权管理检查清单模板。")
    _draft(template)
    if not template.items:
        raise ServiceError("模板中还没有检查项，不能发布。")
    template.status = "published"
    template.published_at = now
    db.session.flush()
    record(actor, "template.publish", template, {"status": "draft"}, {"status": "published"}, now=now)
    return template


def new_version(actor: User | None, template: ChecklistTemplate, *, now: datetime) -> ChecklistTemplate:
    """A draft copy as the next version; checklists already applied are not touched."""
    sections = [
        {
            "title": s.title,
            "items": [
                {
                    "code": i.code,
                    "title": i.title,
                    "guidance": i.guidance,
                    "weight": i.weight,
                    "evidence_required": i.evidence_required,
                    "due_offset_days": i.due_offset_days,
                    "due_date": i.due_date,
                }
                for i in template.items
                if i.section_id == s.id
            ],
        }
        for s in template.sections
    ]
    return create_template(
        actor,
        family=template.family,
        name=template.name,
        description=template.description,
        sections=sections,
        now=now,
    )


# ---------------------------------------------------------------- applying


def apply_template(
    actor: User | None,
    template: ChecklistTemplate,
    units: list[Unit],
    *,
    due: date | None,
    now: datetime,
    reapply: bool = False,
) -> list[Checklist]:
    """Each unit gets its own checklist. A unit that already has this standard keeps
    it — unless `reapply`, when the new version replaces it and verified items whose
    code matches are carried over."""
    if template.status != "published":
        raise ServiceError("只能应用已发布的模板。")
    if due is None:
        raise ServiceError("请填写完成期限。")
    units = list(dict.fromkeys(units))
    if not units:
        raise ServiceError("请选择至少一个单位。")
    applied_by_unit = actor.unit_id if actor is not None else None
    created = []
    today = to_local(now).date()
    for unit in units:
        _allow(actor, "checklist.apply", unit, f"“{unit.name}”不是您的下级单位，不能应用模板。")
        current = db.session.scalar(
            select(Checklist).where(
                Checklist.unit_id == unit.id,
                Checklist.family == template.family,
                Checklist.is_current.is_(True),
            )
        )
        carried: dict[str, ChecklistEntry] = {}
        if current is not None:
            if not reapply:
                raise ServiceError(
                    f"“{unit.name}”已应用该标准（第 {current.template.version} 版）；如需改用新版本，请选择“重新应用”。"
                )
            if current.template_id == template.id:
                raise ServiceError(f"“{unit.name}”已在使用该版本。")
            carried = {
                e.code: e
                for e in db.session.scalars(
                    select(ChecklistEntry).where(
                        ChecklistEntry.checklist_id == current.id, ChecklistEntry.status == "verified"
                    )
                )
            }
            current.is_current = False
        checklist = Checklist(
            template_id=template.id,
            unit_id=unit.id,
            family=template.family,
            due=due,
            applied_by_id=getattr(actor, "id", None),
            applied_by_unit_id=applied_by_unit or unit.parent_id or unit.id,
            applied_at=now,
        )
        db.session.add(checklist)
        db.session.flush()
        sections = {s.id: s.title for s in template.sections}
        for item in template.items:
            item_due = item.due_date or (
                today + timedelta(days=item.due_offset_days) if item.due_offset_days is not None else due
            )
            entry = ChecklistEntry(
                checklist_id=checklist.id,
                item_id=item.id,
                code=item.code,
                section=sections[item.section_id],
                title=item.title,
                weight=item.weight,
                evidence_required=item.evidence_required,
                due=min(item_due, due),
                sort_order=item.sort_order,
            )
            old = carried.get(item.code)
            if old is not None:
                entry.status = "verified"
                entry.claimed_by_id, entry.claimed_at = old.claimed_by_id, old.claimed_at
                entry.verified_by_id, entry.verified_at = old.verified_by_id, old.verified_at
                entry.comment = (
                    f"沿用第 {db.session.get(Checklist, old.checklist_id).template.version} 版的核验结果"
                )
            db.session.add(entry)
        db.session.flush()
        record(
            actor,
            "checklist.apply",
            checklist,
            None,
            {
                "template_id": template.id,
                "version": template.version,
                "unit_id": unit.id,
                "due": due,
                "carried_over": sorted(carried),
            },
            unit_id=unit.id,
            now=now,
        )
        created.append(checklist)
    return created


def claim_entry(
    actor: User,
    entry: ChecklistEntry,
    *,
    comment: str | None,
    files: list,
    expected_version: Any,
    now: datetime,
) -> ChecklistEntry:
    """The unit marks an item done, with evidence where the standard requires it."""
    hold_version(entry, expected_version, now, touch="status")
    _allow(actor, "entry.claim", entry, "您无权填报该检查项（已核验，或不是本单位的检查清单）。")
    checked = attachments.check_uploads(files)
    have = db.session.scalar(
        select(func.count())
        .select_from(attachments.Attachment)
        .where(
            attachments.Attachment.owner_type == "ChecklistEntry", attachments.Attachment.owner_id == entry.id
        )
    )
    if entry.evidence_required and not checked and not have:
        raise ServiceError(f"检查项“{entry.code} {entry.title}”须上传佐证材料。")
    checklist = db.session.get(Checklist, entry.checklist_id)
    attachments.store(
        checked,
        owner_type="ChecklistEntry",
        owner_id=entry.id,
        unit_id=checklist.unit_id,
        actor_id=actor.id,
        now=now,
    )
    before = {"status": entry.status}
    entry.status = "claimed"
    entry.claimed_by_id, entry.claimed_at = actor.id, now
    entry.comment = _text(comment, "说明", 2000, False)
    db.session.flush()
    told = notify_users(
        verifier_ids(checklist),
        kind="entry_claimed",
        subject_type="ChecklistEntry",
        subject_id=entry.id,
        message=f"{checklist.unit.name}填报了检查项“{entry.code} {entry.title}”，请核验。",
        dedupe_key=f"entry.claim:{entry.id}:{entry.version}",  # each claim once
        actor_id=actor.id,
        now=now,
        email=True,  # and by e-mail as each person chose (immediate or in the day's digest)
    )
    record(
        actor,
        "entry.claim",
        entry,
        before,
        {"status": "claimed", "comment": entry.comment, "recipients": told},
        unit_id=checklist.unit_id,
        now=now,
    )
    return entry


# Who is told of a claim: those who verify as their work (the sweep's reviewers of a
# checklist, and the high court's 强基办); leaders may verify too but are not paged per item.
CLAIM_NOTIFY_ROLES = ("assigner", "reviewer", "coordinator")


def verifier_ids(checklist: Checklist) -> list[int]:
    """The people told that an item waits for verification: those of the unit that
    applied the standard — or, when it has nobody (or applied it to itself), of the
    unit directly above."""
    for unit_id in (checklist.applied_by_unit_id, checklist.unit.parent_id):
        if unit_id is None or unit_id == checklist.unit_id:
            continue
        ids = list(
            db.session.scalars(
                select(User.id)
                .where(User.unit_id == unit_id, User.active.is_(True))
                .where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(CLAIM_NOTIFY_ROLES))))
                .order_by(User.id)
            )
        )
        if ids:
            return ids
    return []


def verify_entry(
    actor: User,
    entry: ChecklistEntry,
    *,
    decision: str,
    comment: str | None,
    expected_version: Any,
    now: datetime,
) -> ChecklistEntry:
    """A reviewer from above verifies (核验) or rejects (驳回, with a reason) an item."""
    hold_version(entry, expected_version, now, touch="status")
    if decision not in ("verified", "rejected"):
        raise ServiceError("核验结论只能是核验通过或驳回。")
    _allow(actor, "entry.verify", entry, "您无权核验该检查项（须为上级单位的核验人员，且该项已填报）。")
    checklist = db.session.get(Checklist, entry.checklist_id)
    before = {"status": entry.status}
    entry.status = decision
    entry.verified_by_id, entry.verified_at = actor.id, now
    entry.comment = _text(comment, "驳回理由", 2000, required=decision == "rejected")
    db.session.flush()
    record(
        actor,
        f"entry.{decision}",
        entry,
        before,
        {"status": decision, "comment": entry.comment},
        unit_id=checklist.unit_id,
        now=now,
    )
    return entry
