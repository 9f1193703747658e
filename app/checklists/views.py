"""Checklist pages: standards and their versions, applying them to units, each unit's
checklist (填报 with evidence, 核验 from above) and the 对标对表 wall matrix."""

from __future__ import annotations

from itertools import groupby
from urllib.parse import quote

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from app import attachments, authz
from app.checklists import bp, queries, services
from app.checklists.export import SYMBOLS, matrix_xlsx
from app.checklists.forms import ApplyForm, ClaimForm, ItemForm, SectionForm, TemplateForm, VerifyForm
from app.checklists.models import ENTRY_STATUSES, Checklist, ChecklistEntry, ChecklistTemplate, TemplateItem
from app.extensions import db
from app.journal import JournalEntry, actors_of
from app.org.models import Unit
from app.org.queries import subtree_units
from app.savedviews.sidebar import with_saved_views
from app.tasks.helpers import arg_int, units_by_ids
from app.timeutil import local_today, utcnow
from app.views_util import actor, form_status, page_args, refuse_stale, run_service

# ---------------------------------------------------------------- templates (standards)


@bp.route("/checklists/templates")
@login_required
def template_list():
    stmt = authz.scope(select(ChecklistTemplate), ChecklistTemplate, current_user)
    if not authz.can(current_user, "template.manage"):
        stmt = stmt.where(ChecklistTemplate.status == "published")  # drafts are the editors' business
    families: dict[str, list[ChecklistTemplate]] = {}
    for t in db.session.scalars(stmt.order_by(ChecklistTemplate.family, ChecklistTemplate.version.desc())):
        families.setdefault(t.family, []).append(t)
    families = dict(sorted(families.items(), key=lambda kv: kv[1][0].name))
    counts = dict(
        db.session.execute(
            select(TemplateItem.template_id, func.count()).group_by(TemplateItem.template_id)
        ).all()
    )
    return render_template("checklists/template_list.html", families=families, counts=counts)


def _template_context(t: ChecklistTemplate, section_form=None, item_form=None) -> dict:
    item_form = item_form or ItemForm()
    item_form.section_id.choices = {s.id: s.title for s in t.sections}
    versions = db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.family == t.family)
        .order_by(ChecklistTemplate.version)
    )
    return dict(
        t=t,
        items_by_section={s.id: [i for i in t.items if i.section_id == s.id] for s in t.sections},
        versions=list(versions),
        section_form=section_form or SectionForm(),
        item_form=item_form,
    )


@bp.route("/checklists/templates/<int:template_id>")
@login_required
def template_detail(template_id: int):
    t = authz.get_scoped_or_404(ChecklistTemplate, template_id, "template.view", current_user)
    return render_template("checklists/template_detail.html", **_template_context(t))


@bp.route("/checklists/templates/new", methods=["GET", "POST"])
@login_required
def template_new():
    authz.require(current_user, "template.manage")
    form = TemplateForm()
    status = 200
    if form.validate_on_submit():
        t, status = run_service(
            lambda: services.create_template(
                actor(),
                family=form.family.data,
                name=form.name.data,
                description=form.description.data,
                sections=form.sections,
                now=utcnow(),
            ),
            form,
        )
        if t:
            flash(f"已新建“{t.name}”第 {t.version} 版（草稿）。", "success")
            return redirect(url_for("checklists.template_detail", template_id=t.id))
    return render_template("checklists/template_form.html", form=form), max(status, form_status(form))


def _template_act(template_id: int, fn, form=None, success: str = "已保存。", forms: dict | None = None):
    """Load → check → validate → one service → commit → redirect (or the page with a 4xx)."""
    t = authz.get_scoped_or_404(ChecklistTemplate, template_id, "template.manage", current_user)
    status = 400
    if form is None or form.validate_on_submit():
        result, status = run_service(lambda: fn(t), form)
        if result is not None:
            flash(success, "success")
            return redirect(url_for("checklists.template_detail", template_id=result.id))
    return render_template("checklists/template_detail.html", **_template_context(t, **(forms or {}))), status


@bp.route("/checklists/templates/<int:template_id>/sections", methods=["POST"])
@login_required
def section_add(template_id: int):
    form = SectionForm()

    def add(t):
        services.add_section(actor(), t, title=form.title.data, now=utcnow())
        return t

    return _template_act(
        template_id,
        add,
        form,
        success="已添加分组。",
        forms={"section_form": form},
    )


@bp.route("/checklists/templates/<int:template_id>/items", methods=["POST"])
@login_required
def item_add(template_id: int):
    form = ItemForm()
    t = authz.get_scoped_or_404(ChecklistTemplate, template_id, "template.manage", current_user)
    form.section_id.choices = {s.id: s.title for s in t.sections}

    def add(t):
        section = next(s for s in t.sections if s.id == form.section_id.data)
        fields = ("code", "title", "guidance", "weight", "evidence_required", "due_offset_days", "due_date")
        services.add_item(actor(), t, section, now=utcnow(), **{f: getattr(form, f).data for f in fields})
        return t

    return _template_act(template_id, add, form, success="已添加检查项。", forms={"item_form": form})


@bp.route("/checklists/templates/<int:template_id>/publish", methods=["POST"])
@login_required
def template_publish(template_id: int):
    return _template_act(
        template_id,
        lambda t: services.publish_template(actor(), t, now=utcnow()),
        success="已发布，可以应用到单位。",
    )


@bp.route("/checklists/templates/<int:template_id>/new-version", methods=["POST"])
@login_required
def template_new_version(template_id: int):
    return _template_act(
        template_id,
        lambda t: services.new_version(actor(), t, now=utcnow()),
        success="已复制为新版本草稿；已应用的检查清单不受影响。",
    )


# ---------------------------------------------------------------- applying


def _apply_choices(form: ApplyForm) -> list:
    """Published templates; units the actor may apply to (strictly below); the units
    whose tribunals can be picked at once. Returns the actor's tree rows."""
    published = db.session.scalars(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.status == "published")
        .order_by(ChecklistTemplate.name, ChecklistTemplate.version.desc())
    )
    form.template_id.choices = {t.id: f"{t.name}（第 {t.version} 版）" for t in published}
    rows = subtree_units(current_user, include_inactive=False)
    allowed = [r for r in rows if authz.can(current_user, "checklist.apply", r.unit)]
    form.unit_ids.choices = {r.unit.id: "\u3000" * max(r.depth - 1, 0) + r.unit.name for r in allowed}
    form.under_id.choices = {0: "（不使用）"} | {
        r.unit.id: "\u3000" * r.depth + r.unit.name for r in rows if r.unit.level != "tribunal"
    }
    return allowed


def _tribunals_under(allowed: list, unit_id: int) -> list[Unit]:
    if not unit_id:
        return []
    below = set(db.session.scalars(authz.scope_unit_ids_of(unit_id)))
    return [r.unit for r in allowed if r.unit.level == "tribunal" and r.unit.id in below]


@bp.route("/checklists/apply", methods=["GET", "POST"])
@login_required
def apply():
    form = ApplyForm(template_id=arg_int("template"))
    allowed = _apply_choices(form)
    if not allowed:
        abort(403)  # nobody below this user the policy lets them apply a standard to
    status = 200
    if form.validate_on_submit():
        t = authz.get_scoped_or_404(ChecklistTemplate, form.template_id.data, "template.view", current_user)
        units = units_by_ids(form.unit_ids.data or []) + _tribunals_under(allowed, form.under_id.data)
        created, status = run_service(
            lambda: services.apply_template(
                actor(), t, units, due=form.due.data, now=utcnow(), reapply=form.reapply.data
            ),
            form,
        )
        if created:
            flash(f"已将“{t.name}”第 {t.version} 版应用到 {len(created)} 个单位。", "success")
            return redirect(url_for("checklists.matrix", family=t.family))
    return render_template("checklists/apply.html", form=form), max(status, form_status(form))


# ---------------------------------------------------------------- checklists


def _families() -> list[ChecklistTemplate]:
    """The newest published version of each standard, by name (“五化” comes first)."""
    return sorted(queries.families(current_user), key=lambda t: t.name)


def _status_counts(ids: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        stmt = (
            select(ChecklistEntry.checklist_id, ChecklistEntry.status, func.count())
            .where(ChecklistEntry.checklist_id.in_(ids))
            .group_by(ChecklistEntry.checklist_id, ChecklistEntry.status)
        )
        for cid, status, n in db.session.execute(stmt):
            out[cid][status] = n
    return out


@bp.route("/checklists")
@login_required
@with_saved_views("checklists")  # 我的查询 (issue 15)
def checklist_list():
    family = request.args.get("family") or None
    stmt = queries.checklists_query(current_user, unit_id=arg_int("unit"), family=family)
    page, size = page_args()
    pagination = db.paginate(
        stmt.options(joinedload(Checklist.unit), joinedload(Checklist.template)),
        page=page,
        per_page=size,
        error_out=False,
    )
    ids = [c.id for c in pagination.items]
    return render_template(
        "checklists/checklist_list.html",
        pagination=pagination,
        compliance=queries.compliance_by_checklist(ids),
        counts=_status_counts(ids),
        families=_families(),
        family=family,
    )


def _current_of(c: Checklist) -> Checklist | None:
    """The checklist that replaced `c` (the same standard re-applied to the same unit)."""
    return db.session.scalar(
        select(Checklist).where(
            Checklist.unit_id == c.unit_id, Checklist.family == c.family, Checklist.is_current.is_(True)
        )
    )


def _entry_timelines(ids: list[int]) -> dict[int, list[JournalEntry]]:
    """Each entry's 办理记录 (claims, verifications, and who was told), oldest first. One query."""
    out: dict[int, list[JournalEntry]] = {i: [] for i in ids}
    if ids:
        for j in db.session.scalars(
            select(JournalEntry)
            .where(JournalEntry.object_type == "ChecklistEntry", JournalEntry.object_id.in_(ids))
            .order_by(JournalEntry.at, JournalEntry.id)
        ):
            out[j.object_id].append(j)
    return out


def _detail_context(c: Checklist) -> dict:
    entries = list(
        db.session.scalars(
            select(ChecklistEntry)
            .where(ChecklistEntry.checklist_id == c.id)
            .options(selectinload(ChecklistEntry.claimed_by), selectinload(ChecklistEntry.verified_by))
            .order_by(ChecklistEntry.sort_order, ChecklistEntry.id)
        )
    )
    only = request.args.get("status")
    timelines = _entry_timelines([e.id for e in entries])
    sections: dict[str, list[ChecklistEntry]] = {}
    for e in entries:
        if only in (None, "", e.status):
            sections.setdefault(e.section, []).append(e)
    return dict(
        c=c,
        sections=sections,
        only=only,
        guidance={i.id: i.guidance for i in c.template.items},
        files=attachments.for_owner("ChecklistEntry", [e.id for e in entries]),
        timelines=timelines,
        timeline_users=actors_of([j for rows in timelines.values() for j in rows]),
        compliance=queries.compliance_by_checklist([c.id]).get(c.id, 0.0),
        counts=_status_counts([c.id])[c.id],
        current=None if c.is_current else _current_of(c),
        today=local_today(),
        statuses=ENTRY_STATUSES,
        symbols=SYMBOLS,
        loaded_at=utcnow().isoformat(),  # for the conflict page's "since"
    )


@bp.route("/checklists/<int:checklist_id>")
@login_required
def checklist_detail(checklist_id: int):
    c = authz.get_scoped_or_404(Checklist, checklist_id, "checklist.view", current_user)
    return render_template("checklists/checklist_detail.html", **_detail_context(c))


def _entry_act(entry_id: int, action: str, form, fn, success: str):
    """Load → a stale page ends on the conflict page → check → validate → one service
    (which checks the version too) → commit → back to the entry (or a 4xx page)."""
    entry = authz.get_scoped_or_404(ChecklistEntry, entry_id, "checklist.view", current_user)
    refuse_stale(entry, form)
    authz.require(current_user, action, entry)
    status = 400
    if form.validate_on_submit():
        result, status = run_service(lambda: fn(entry), form, versioned=entry)
        if result is not None:
            flash(success, "success")
            return redirect(
                url_for(
                    "checklists.checklist_detail", checklist_id=entry.checklist_id, _anchor=f"e{entry.id}"
                )
            )
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    c = db.session.get(Checklist, entry.checklist_id)
    return render_template("checklists/checklist_detail.html", **_detail_context(c)), status


@bp.route("/checklists/entries/<int:entry_id>/claim", methods=["POST"])
@login_required
def entry_claim(entry_id: int):
    form = ClaimForm()
    return _entry_act(
        entry_id,
        "entry.claim",
        form,
        lambda e: services.claim_entry(
            actor(),
            e,
            comment=form.comment.data,
            files=request.files.getlist("files"),
            expected_version=form.version.data,
            now=utcnow(),
        ),
        "已填报，等待上级核验。",
    )


@bp.route("/checklists/entries/<int:entry_id>/verify", methods=["POST"])
@login_required
def entry_verify(entry_id: int):
    form = VerifyForm()
    return _entry_act(
        entry_id,
        "entry.verify",
        form,
        lambda e: services.verify_entry(
            actor(),
            e,
            decision=form.decision.data,
            comment=form.comment.data,
            expected_version=form.version.data,
            now=utcnow(),
        ),
        "已核验通过。" if form.decision.data == "verified" else "已驳回。",
    )


# ---------------------------------------------------------------- 对标对表


def _wall_rows(m: queries.Matrix, tree: list[queries.TreeUnit]) -> list[tuple]:
    """Matrix rows in tree order, each with the name of the unit it sits under."""
    place = {u.id: (i, u) for i, u in enumerate(tree)}

    def where(row: queries.MatrixRow):
        found = place.get(row.unit.id)
        return (found[0], row.unit.id) if found else (len(place), row.unit.id)

    out = []
    for unit, checklist, entries, compliance in sorted(m.rows, key=where):
        parent = place.get(unit.parent_id)
        out.append((parent[1].name if parent else None, unit, checklist, entries, compliance))
    return out


def _code_prefix(codes: list[str]) -> str:
    """“WH-” when every code starts with it: the wall's columns then show 1.1, 1.2 …"""
    heads = {code.rpartition("-")[0] for code in codes}
    return f"{heads.pop()}-" if len(heads) == 1 and "" not in heads else ""


def _matrix_data() -> dict:
    families = _families()
    family = request.args.get("family") or (families[0].family if families else "")
    root = authz.get_scoped_or_404(Unit, arg_int("unit") or current_user.unit_id, "unit.view", current_user)
    section = request.args.get("section") or None
    m = queries.matrix(current_user, family, root_id=root.id, section=section)
    tree = queries.tree(current_user)
    standard = next((t for t in families if t.family == family), None)
    return dict(
        families=families,
        family=family,
        standard=standard,
        root=root,
        section=section,
        sections=[s.title for s in standard.sections] if standard else [],
        m=m,
        rows=_wall_rows(m, tree),
        spans=[(title, len(list(cols))) for title, cols in groupby(m.columns, key=lambda c: c[2])],
        prefix=_code_prefix([code for code, _t, _s in m.columns]),
        rollup=queries.rollup_of(m, root, tree),
        roots={u.id: "\u3000" * u.depth + u.name for u in tree if u.level != "tribunal"},
    )


@bp.route("/checklists/matrix")
@login_required
def matrix():
    d = _matrix_data()
    return render_template(
        "checklists/matrix.html",
        **d,
        wall=_wall_cells(d["m"].columns, d["rows"]),
        symbols=SYMBOLS,
        statuses=ENTRY_STATUSES,
    )


def _wall_cells(columns: list[tuple[str, str, str]], rows: list[tuple]) -> dict[int, tuple]:
    """{checklist id: (its page, its cells)}, a cell being (code, status, link to the
    entry, title, symbol) — status None where its version has no such item. A
    province's wall has 8,750 cells: prepared here as plain values, each costs the
    template six escaped values (matrix.html) instead of lookups, calls and eight."""
    titles = {
        (code, status): (f"{code} {label}", SYMBOLS.get(status, ""))
        for code, _title, _section in columns
        for status, label in ENTRY_STATUSES.items()
    }
    out = {}
    for _group, _unit, checklist, entries, _rate in rows:
        link = url_for("checklists.checklist_detail", checklist_id=checklist.id)
        cells = []
        for code, _title, _section in columns:
            e = entries.get(code)
            if e is None:
                cells.append((code, None, None, None, None))
            else:
                title, symbol = titles.get((code, e.status), (f"{code} ", ""))
                cells.append((code, e.status, f"{link}#e{e.id}", title, symbol))
        out[checklist.id] = (link, cells)
    return out


@bp.route("/checklists/matrix.xlsx")
@login_required
def matrix_export():
    d = _matrix_data()
    name = d["standard"].name if d["standard"] else "对标对表"
    title = f"{d['root'].name}{name}对标对表" + (f"（{d['section']}）" if d["section"] else "")
    data = matrix_xlsx(title, d["m"], d["rows"], d["rollup"], d["root"])
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )
