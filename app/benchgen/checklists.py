"""The shipped standards applied to units (五化 and 示范 to tribunals, 三年规划 to base
courts) with each entry where a unit would be: missing, claimed, verified or rejected.
No evidence files are generated, so entries that require evidence stay 未完成."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from app.benchgen.context import HEAD_ROLES, Clock, Province, journal
from app.benchgen.shapes import Shape
from app.benchgen.writer import BulkWriter
from app.checklists.models import ChecklistTemplate, TemplateItem, TemplateSection
from app.extensions import db

TARGET_LEVEL = {"wuhua": "tribunal", "shifan": "tribunal", "sannian": "base"}
DEMO_FIRST = ["华来人民法庭", "二棚甸子人民法庭", "普乐堡人民法庭", "沙尖子人民法庭"]


def standard_templates() -> dict[str, tuple[int, int, list]]:
    """family → (template id, version, items) of the newest published version."""
    out = {}
    for template in db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.status == "published")
        .order_by(ChecklistTemplate.family, ChecklistTemplate.version)
    ):
        items = db.session.execute(
            select(TemplateItem, TemplateSection.title)
            .join(TemplateSection, TemplateSection.id == TemplateItem.section_id)
            .where(TemplateItem.template_id == template.id)
            .order_by(TemplateItem.sort_order, TemplateItem.id)
        ).all()
        out[template.family] = (template.id, template.version, items)
    return out


def build_checklists(w: BulkWriter, p: Province, shape: Shape, clock: Clock, rng: random.Random) -> None:
    templates = standard_templates()
    for family, count in shape.checklists.items():
        if family not in templates:
            raise RuntimeError(f"缺少检查清单标准“{family}”：请先加载标准模板")
        template_id, version, items = templates[family]
        pool = p.tribunals if TARGET_LEVEL[family] == "tribunal" else p.bases
        first = [p.demo_units[n] for n in DEMO_FIRST if n in p.demo_units] if family == "wuhua" else []
        rest = [u for u in pool if u not in first]
        chosen = (first + rng.sample(rest, min(len(rest), count)))[:count]
        for unit in chosen:
            applier_unit = p.intermediate_of(unit) or p.high
            applier = p.anyone(applier_unit, ("assigner", "reviewer"))
            age = rng.randint(30, 700)
            applied_day = clock.today - timedelta(days=age)
            applied_at = clock.at(applied_day, rng)
            due = applied_day + timedelta(days=365)
            cid = w.new_id("checklists")
            w.add(
                "checklists",
                {
                    "id": cid,
                    "template_id": template_id,
                    "unit_id": unit,
                    "family": family,
                    "due": due,
                    "applied_by_id": applier,
                    "applied_by_unit_id": applier_unit,
                    "applied_at": applied_at,
                    "is_current": True,
                },
            )
            after = {"template_id": template_id, "version": version, "unit_id": unit, "due": due}
            journal(
                w,
                applied_at,
                applier,
                "checklist.apply",
                "Checklist",
                cid,
                unit,
                None,
                after | {"carried_over": []},
            )
            head = p.anyone(unit, HEAD_ROLES)
            done_share = 0.25 + 0.5 * age / 700
            for item, section in items:
                if item.due_date:
                    item_due = item.due_date
                elif item.due_offset_days is not None:
                    item_due = applied_day + timedelta(days=item.due_offset_days)
                else:
                    item_due = due
                status = "missing"
                if not item.evidence_required:
                    status = rng.choices(
                        ["verified", "claimed", "rejected", "missing"],
                        [done_share, 0.2, 0.05, max(0.05, 0.7 - done_share)],
                    )[0]
                row = {
                    "id": w.new_id("checklist_entries"),
                    "checklist_id": cid,
                    "item_id": item.id,
                    "code": item.code,
                    "section": section,
                    "title": item.title,
                    "weight": item.weight,
                    "evidence_required": item.evidence_required,
                    "due": min(item_due, due),
                    "status": status,
                    "claimed_by_id": None,
                    "claimed_at": None,
                    "verified_by_id": None,
                    "verified_at": None,
                    "comment": None,
                    "sort_order": item.sort_order,
                    "version": 1,
                }
                if status != "missing":
                    row |= {"claimed_by_id": head, "claimed_at": clock.between(applied_at, clock.now, rng)}
                    row |= {"comment": "已按标准落实", "version": 2}
                    after = {"status": "claimed", "comment": row["comment"]}
                    journal(
                        w,
                        row["claimed_at"],
                        head,
                        "entry.claim",
                        "ChecklistEntry",
                        row["id"],
                        unit,
                        {"status": "missing"},
                        after,
                    )
                if status in ("verified", "rejected"):
                    verified_at = clock.between(row["claimed_at"], clock.now, rng)
                    comment = "核验属实" if status == "verified" else "佐证材料不全，请补充"
                    row |= {
                        "verified_by_id": applier,
                        "verified_at": verified_at,
                        "comment": comment,
                        "version": 3,
                    }
                    after = {"status": status, "comment": comment}
                    before = {"status": "claimed"}
                    journal(
                        w,
                        verified_at,
                        applier,
                        f"entry.{status}",
                        "ChecklistEntry",
                        row["id"],
                        unit,
                        before,
                        after,
                    )
                w.add("checklist_entries", row)
