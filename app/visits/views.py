"""Visit pages (督导走访): plan, record, findings → rectifications, print and Word
report, coverage (who was visited, who was not) and leaders' pairings (联系点)."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import attachments, authz
from app.deadlines import add_months
from app.extensions import db
from app.journal import actors_of, history
from app.org.models import Unit, User
from app.org.queries import unit_choices
from app.savedviews.sidebar import with_saved_views
from app.tasks.helpers import arg_int, parse_date, units_by_ids
from app.tasks.models import Assignment, Task
from app.tasks.queries import light
from app.timeutil import local_today, utcnow
from app.views_util import actor, form_status, page_args, refuse_stale, run_service
from app.visits import bp, docx, forms, queries, services
from app.visits.models import VISIT_STATUSES, Finding, Pairing, Visit, VisitKind, VisitLeader, VisitTarget

STATUS_FILTERS = {**VISIT_STATUSES, "unrecorded": "逾期未记录"}
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# Everything a visit row shows, loaded with the page in a fixed number of queries.
VISIT_LOADS = (
    joinedload(Visit.kind),
    joinedload(Visit.organizer_unit),
    selectinload(Visit.leaders).joinedload(VisitLeader.user),
    selectinload(Visit.targets).joinedload(VisitTarget.unit),
)


def _users(ids: list[int]) -> list[User]:
    found = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids or [-1])))}
    return [found[i] for i in ids if i in found]


def _findings(visit: Visit) -> list[tuple[Finding, Assignment]]:
    """The visit's findings with their rectification, only those the user may see
    (a visited tribunal sees its own, not its neighbour's)."""
    stmt = (
        select(Finding, Assignment)
        .join(Assignment, Assignment.task_id == Finding.task_id)
        .where(Finding.visit_id == visit.id)
        .options(
            joinedload(Finding.unit),
            # the verifier's name, not his roles (one statement fewer: room for the discussion)
            joinedload(Assignment.task).joinedload(Task.verifier).lazyload(User.role_rows),
        )
        .order_by(Finding.id)
    )
    return [tuple(row) for row in db.session.execute(authz.scope(stmt, Assignment, current_user)).all()]


# ---------------------------------------------------------------- list and plan


@bp.route("/visits")
@login_required
@with_saved_views("visits")  # 我的查询 (issue 15)
def visit_list():
    status, unit_id, today = request.args.get("status", ""), arg_int("unit"), local_today()
    date_from, date_to = parse_date(request.args.get("from")), parse_date(request.args.get("to"))
    stmt = queries.visits_query(
        current_user,
        status="planned" if status == "unrecorded" else status,
        unit_id=unit_id,
        date_from=date_from,
        date_to=date_to,
    )
    if status == "unrecorded":
        stmt = stmt.where(Visit.planned_end < today)
    page, size = page_args()
    pagination = db.paginate(stmt.options(*VISIT_LOADS), page=page, per_page=size, error_out=False)
    return render_template(
        "visits/list.html",
        pagination=pagination,
        status=status,
        unit_id=unit_id,
        date_from=date_from,
        date_to=date_to,
        today=today,
        status_filters=STATUS_FILTERS,
        units=unit_choices(current_user),
        unrecorded=queries.is_unrecorded,
        dates=docx.date_range_cn,
    )


def _organizer(form: forms.VisitForm) -> Unit:
    """The organising unit picked on the form (or in ?organizer= while planning)."""
    # type=int: only an integer that fits the database (app.security.hardening), else the user's unit
    unit_id = (
        request.form.get(form.organizer_unit_id.name, type=int)
        or request.args.get("organizer", type=int)
        or current_user.unit_id
    )
    return authz.get_scoped_or_404(Unit, unit_id, "visit.create", current_user)


@bp.route("/visits/new", methods=["GET", "POST"])
@login_required
def visit_new():
    authz.require(current_user, "visit.create", current_user.unit)
    form = forms.VisitForm()
    organizer = _organizer(form)
    form.kind_id.choices = forms.kind_choices()
    form.organizer_unit_id.choices = forms.organizer_choices(current_user)
    form.leader_ids.choices = forms.leader_choices(organizer.id)
    form.target_ids.choices = forms.target_choices(current_user, organizer.id)
    form.organizer_unit_id.data = organizer.id
    status = 200
    if form.validate_on_submit():
        visit, status = run_service(
            lambda: services.create_visit(
                actor(),
                kind=db.session.get(VisitKind, form.kind_id.data),
                organizer=organizer,
                title=form.title.data,
                planned_start=form.planned_start.data,
                planned_end=form.planned_end.data,
                leaders=_users(form.leader_ids.data),
                targets=units_by_ids(form.target_ids.data),
                team=form.team.data,
                topics=form.topics.data,
                now=utcnow(),
            ),
            form,
        )
        if visit:
            flash(f"已安排走访“{visit.title}”。", "success")
            return redirect(url_for("visits.visit_detail", visit_id=visit.id))
    return render_template("visits/form.html", form=form, organizer=organizer), max(status, form_status(form))


# ---------------------------------------------------------------- one visit


def _loaded_visit(visit_id: int) -> Visit:
    """The visit with what its page shows, in three statements: its kind and organiser
    (joined), its targets with their units, its leaders with their names (not roles)."""
    visit = db.session.get(
        Visit,
        visit_id,
        options=[
            joinedload(Visit.kind),
            joinedload(Visit.organizer_unit),
            selectinload(Visit.targets).joinedload(VisitTarget.unit),
            selectinload(Visit.leaders).joinedload(VisitLeader.user).lazyload(User.role_rows),
        ],
    )
    if visit is None:
        abort(404)
    return visit


def _detail_context(visit: Visit, record_form: Any = None, finding_form: Any = None) -> dict:
    from app.discussion import queries as discussion  # imports this module's package

    if record_form is None:
        record_form = forms.RecordForm(formdata=None)
        record_form.fill_from(visit)
    finding_form = finding_form or forms.FindingForm(formdata=None)
    finding_form.fill_choices(visit)
    timeline = history("Visit", visit.id)
    today = local_today()
    return dict(
        visit=visit,
        findings=_findings(visit),
        files=attachments.for_owner("Visit", [visit.id])[visit.id],
        record_form=record_form,
        finding_form=finding_form,
        timeline=timeline,
        users=actors_of(timeline),
        today=today,
        light=light,
        unrecorded=queries.is_unrecorded(visit, today),
        dates=docx.visit_dates(visit),
        planned=docx.date_range_cn(visit.planned_start, visit.planned_end),
        discussion=discussion.panel(visit, current_user),  # issue 15: comments and 关注
    )


@bp.route("/visits/<int:visit_id>")
@login_required
def visit_detail(visit_id: int):
    visit = _loaded_visit(visit_id)
    authz.require(current_user, "visit.view", visit)
    return render_template("visits/detail.html", **_detail_context(visit))


def _act(visit: Visit, form: Any, fn, success: str, **forms_for_page: Any):
    """Validate → one service → commit → redirect; a refusal re-renders the page (4xx)."""
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
        return render_template("visits/detail.html", **_detail_context(visit, **forms_for_page)), 400
    result, status = run_service(fn, form, versioned=visit)
    if result is None:
        return render_template("visits/detail.html", **_detail_context(visit, **forms_for_page)), status
    flash(success, "success")
    return redirect(url_for("visits.visit_detail", visit_id=visit.id))


@bp.route("/visits/<int:visit_id>/record", methods=["POST"])
@login_required
def visit_record(visit_id: int):
    visit = authz.get_scoped_or_404(Visit, visit_id, "visit.view", current_user)
    form = forms.RecordForm()
    refuse_stale(visit, form)
    authz.require(current_user, "visit.edit", visit)
    return _act(
        visit,
        form,
        lambda: services.record_visit(
            actor(),
            visit,
            actual_start=form.actual_start.data,
            actual_end=form.actual_end.data,
            summary=form.summary.data,
            suggestions=form.suggestions.data,
            solved_on_spot=form.solved_on_spot.data,
            topics=form.topics.data,
            team=form.team.data,
            files=request.files.getlist("files"),
            expected_version=form.version.data,
            now=utcnow(),
        ),
        "已记录走访情况。",
        record_form=form,
    )


@bp.route("/visits/<int:visit_id>/findings", methods=["POST"])
@login_required
def finding_add(visit_id: int):
    visit = authz.get_scoped_or_404(Visit, visit_id, "visit.add_finding", current_user)
    form = forms.FindingForm()
    form.fill_choices(visit)
    return _act(
        visit,
        form,
        lambda: services.add_finding(
            actor(),
            visit,
            unit=db.session.get(Unit, form.unit_id.data),
            description=form.description.data,
            deadline=form.deadline.data,
            verifier=db.session.get(User, form.verifier_id.data),
            now=utcnow(),
        ),
        "已登记问题，并作为整改事项交办给问题所在单位。",
        finding_form=form,
    )


@bp.route("/visits/<int:visit_id>/print")
@login_required
def visit_print(visit_id: int):
    visit = authz.get_scoped_or_404(Visit, visit_id, "visit.view", current_user)
    return render_template(
        "visits/print.html",
        visit=visit,
        findings=_findings(visit),
        photos=[f for f in attachments.for_owner("Visit", [visit.id])[visit.id] if f.has_thumbnail],
        dates=docx.visit_dates(visit),
        status_of=docx.rectification_status,
        solved_label=docx.SOLVED_LABEL,
        today=local_today(),
    )


@bp.route("/visits/<int:visit_id>.docx")
@login_required
def visit_docx(visit_id: int):
    visit = authz.get_scoped_or_404(Visit, visit_id, "visit.view", current_user)
    data = docx.visit_report(visit, _findings(visit), today=local_today())
    name = re.sub(r'[\\/:*?"<>|\s]+', "_", visit.title)[:80] or f"督导走访{visit.id}"
    return send_file(io.BytesIO(data), mimetype=DOCX_MIME, as_attachment=True, download_name=f"{name}.docx")


# ---------------------------------------------------------------- visit kinds (系统管理员)


def _kinds_page(form: Any, status: int = 200, *, rename_form: Any = None, rename_id: int | None = None):
    kinds = list(db.session.scalars(select(VisitKind).order_by(VisitKind.sort_order, VisitKind.id)))
    return render_template(
        "visits/kinds.html",
        form=form,
        kinds=kinds,
        usage=services.kind_usage(),
        rename_form=rename_form,
        rename_id=rename_id,
    ), status


@bp.route("/admin/visit-kinds", methods=["GET", "POST"])
@login_required
def kinds_admin():
    """The list of visit kinds: add one, rename, retire or bring back."""
    authz.require(current_user, "admin.access")
    form = forms.KindForm()
    status = 200
    if form.validate_on_submit():
        kind, status = run_service(lambda: services.add_kind(actor(), form.name.data, now=utcnow()), form)
        if kind:
            flash(f"已添加走访类型“{kind.name}”。", "success")
            return redirect(url_for("visits.kinds_admin"))
    return _kinds_page(form, max(status, form_status(form)))


@bp.route("/admin/visit-kinds/<int:kind_id>", methods=["POST"])
@login_required
def kind_rename(kind_id: int):
    authz.require(current_user, "admin.access")
    kind = db.get_or_404(VisitKind, kind_id)
    form, status = forms.KindForm(), 400
    if form.validate_on_submit():
        old = kind.name
        done, status = run_service(
            lambda: services.rename_kind(actor(), kind, form.name.data, now=utcnow()), form
        )
        if done:
            flash(f"已将走访类型“{old}”改名为“{kind.name}”。", "success")
            return redirect(url_for("visits.kinds_admin"))
    return _kinds_page(forms.KindForm(formdata=None), status, rename_form=form, rename_id=kind.id)


@bp.route("/admin/visit-kinds/<int:kind_id>/toggle", methods=["POST"])
@login_required
def kind_toggle(kind_id: int):
    authz.require(current_user, "admin.access")
    kind = db.get_or_404(VisitKind, kind_id)
    active = not kind.is_active
    done, status = run_service(lambda: services.set_kind_active(actor(), kind, active, now=utcnow()))
    if not done:
        return _kinds_page(forms.KindForm(formdata=None), status)
    flash(f"已{'恢复启用' if active else '停用'}走访类型“{kind.name}”。", "success")
    return redirect(url_for("visits.kinds_admin"))


# ---------------------------------------------------------------- coverage and pairings


def _tree_order(rows: list[queries.CoverageRow]) -> list[queries.CoverageRow]:
    """Each base court followed by its tribunals (in memory; the rows come grouped by parent)."""
    ids = {r.unit.id for r in rows}
    children: dict[int | None, list[queries.CoverageRow]] = {}
    for r in rows:
        children.setdefault(r.unit.parent_id if r.unit.parent_id in ids else None, []).append(r)
    out, stack = [], list(reversed(children.get(None, [])))
    while stack:
        row = stack.pop()
        out.append(row)
        stack.extend(reversed(children.get(row.unit.id, [])))
    return out


@bp.route("/visits/coverage")
@login_required
def coverage():
    root = authz.get_scoped_or_404(
        Unit, arg_int("unit") or current_user.unit_id, "visit.coverage", current_user
    )
    months = min(max(request.args.get("months", 6, type=int) or 6, 1), 36)
    today = local_today()
    rows, unvisited = queries.coverage(current_user, root, months=months, today=today)
    rows = _tree_order(rows)
    parents = {u.id: u for u in units_by_ids(sorted({r.unit.parent_id for r in rows if r.unit.parent_id}))}
    return render_template(
        "visits/coverage.html",
        root=root,
        months=months,
        rows=rows,
        unvisited=unvisited,
        parents=parents,
        since=add_months(today, -months),
        today=today,
        units=unit_choices(current_user, levels=forms.ORGANIZER_LEVELS),
    )


@bp.route("/pairings", methods=["GET", "POST"])
@login_required
def pairing_list():
    form = forms.PairingForm()
    form.leader_id.choices = forms.pairing_leader_choices(current_user)
    form.unit_id.choices = forms.pairing_unit_choices(current_user)
    status = 200
    if request.method == "POST":
        if not form.unit_id.choices:
            abort(403)
        if form.validate_on_submit():
            unit = authz.get_scoped_or_404(Unit, form.unit_id.data, "pairing.manage", current_user)
            leader = db.session.get(User, form.leader_id.data)
            pairing, status = run_service(lambda: services.pair(actor(), leader, unit, now=utcnow()), form)
            if pairing:
                flash(f"已将“{unit.name}”设为“{leader.display_name}”的联系点。", "success")
                return redirect(url_for("visits.pairing_list"))
    stmt = authz.scope(select(Pairing), Pairing, current_user).options(
        joinedload(Pairing.leader).joinedload(User.unit), joinedload(Pairing.unit)
    )
    pairings = list(db.session.scalars(stmt.order_by(Pairing.leader_id, Pairing.unit_id)))
    return render_template("visits/pairings.html", form=form, pairings=pairings), max(
        status, form_status(form)
    )


@bp.route("/pairings/<int:pairing_id>/delete", methods=["POST"])
@login_required
def pairing_delete(pairing_id: int):
    pairing = db.get_or_404(Pairing, pairing_id)
    # A pairing is seen and managed through its unit: hidden unit → 404, not allowed → 403.
    authz.get_scoped_or_404(Unit, pairing.unit_id, "pairing.manage", current_user)
    done, _status = run_service(lambda: services.unpair(actor(), pairing, now=utcnow()) or True)
    if done:
        flash("已解除该联系点。", "success")
    return redirect(url_for("visits.pairing_list")), 303
