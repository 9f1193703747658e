"""Projects and their task lists (清单事项): create, edit, assign, the item page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app import authz
from app.extensions import db
from app.journal import actors_of, history
from app.org.queries import unit_choices
from app.tasks import bp, links, services
from app.tasks.forms import AssignForm, CategoryForm, ProjectForm, TaskForm
from app.tasks.helpers import assignable_units, categories, units_by_ids
from app.tasks.link_views import page_links
from app.tasks.models import Assignment, Category, Project, Task, TaskCooperator
from app.tasks.queries import light
from app.timeutil import local_today, utcnow
from app.views_util import actor, form_status, page_args, run_service


@bp.route("/projects")
@login_required
def projects():
    stmt = authz.scope(select(Project), Project, current_user).order_by(
        Project.start.desc(), Project.id.desc()
    )
    return render_template("tasks/projects.html", projects=list(db.session.scalars(stmt)))


def _project_form(project: Project | None) -> ProjectForm:
    form = ProjectForm(obj=project) if project is not None and request.method == "GET" else ProjectForm()
    form.owner_unit_id.choices = unit_choices(current_user)
    if request.method == "GET":
        form.owner_unit_id.data = project.owner_unit_id if project else current_user.unit_id
        if project:
            form.version.data = project.version
    elif project is not None:  # the edit page does not offer the owner: it stays as it is
        form.owner_unit_id.data = project.owner_unit_id
    return form


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def project_new():
    authz.require(current_user, "project.create")
    form = _project_form(None)
    status = 200
    if form.validate_on_submit():
        owner = authz.get_scoped_or_404(
            type(current_user.unit), form.owner_unit_id.data, "unit.view", current_user
        )
        project, status = run_service(
            lambda: services.create_project(
                actor(),
                name=form.name.data,
                owner_unit=owner,
                start=form.start.data,
                end=form.end.data,
                description=form.description.data,
                now=utcnow(),
            ),
            form,
        )
        if project:
            flash(f"已新建项目“{project.name}”。", "success")
            return redirect(url_for("tasks.project_detail", project_id=project.id))
    return render_template("tasks/project_form.html", form=form, project=None), max(status, form_status(form))


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def project_edit(project_id: int):
    project = authz.get_scoped_or_404(Project, project_id, "project.edit", current_user)
    form = _project_form(project)
    status = 200
    if form.validate_on_submit():
        ok, status = run_service(
            lambda: services.update_project(
                actor(),
                project,
                name=form.name.data,
                start=form.start.data,
                end=form.end.data,
                description=form.description.data,
                expected_version=form.version.data,
                now=utcnow(),
            ),
            form,
            versioned=project,
        )
        if ok:
            flash("已保存。", "success")
            return redirect(url_for("tasks.project_detail", project_id=project.id))
    return render_template("tasks/project_form.html", form=form, project=project), max(
        status, form_status(form)
    )


@bp.route("/projects/<int:project_id>")
@login_required
def project_detail(project_id: int):
    """The project's items a page at a time (50 by default), each with the number of
    units / periods it went to — counted for the page's items only, so the page costs
    the same for a project of 50 items and one of 150,000."""
    project = authz.get_scoped_or_404(Project, project_id, "project.view", current_user)
    page, size = page_args()
    stmt = (
        authz.scope(select(Task), Task, current_user)
        .where(Task.project_id == project.id)
        .options(selectinload(Task.category))
        .order_by(Task.id)
    )
    pagination = db.paginate(stmt, page=page, per_page=size, error_out=False)
    ids = [t.id for t in pagination.items]
    rows = (
        db.session.execute(
            authz.scope(
                select(Assignment.task_id, db.func.count(), links.waits(Assignment.task_id)),
                Assignment,
                current_user,
            )
            .where(Assignment.task_id.in_(ids))
            .group_by(Assignment.task_id)
        ).all()
        if ids
        else []
    )
    counts = {task_id: n for task_id, n, _ in rows}
    return render_template(
        "tasks/project_detail.html",
        project=project,
        tasks=pagination.items,
        pagination=pagination,
        first_index=(pagination.page - 1) * pagination.per_page,
        counts=counts,
        waiting={task_id for task_id, _, waits in rows if waits},  # 待前置事项 (issue 15)
    )


def _task_form(task: Task | None) -> TaskForm:
    form = TaskForm(obj=task) if task is not None and request.method == "GET" else TaskForm()
    form.category_id.choices = categories()
    form.cooperator_ids.choices = unit_choices(current_user)
    form.unit_ids.choices = assignable_units(current_user)
    if task is not None and request.method == "GET":
        form.category_id.data = task.category_id or 0
        form.cooperator_ids.data = [c.unit_id for c in task.cooperators]
        form.recurrence.data = task.recurrence or ""
        form.report_every.data = task.report_every or ""
        form.version.data = task.version
    return form


def _task_kwargs(form: TaskForm) -> dict:
    return dict(
        title=form.title.data,
        requirements=form.requirements.data,
        category=db.session.get(Category, form.category_id.data) if form.category_id.data else None,
        lead_leader=form.lead_leader.data,
        cooperators=units_by_ids(form.cooperator_ids.data or []),
        priority=form.priority.data,
        deadline_kind=form.deadline_kind.data,
        deadline=form.deadline.data,
        recurrence=form.recurrence.data or None,
        report_every=form.report_every.data or None,
        notes=form.notes.data,
    )


@bp.route("/projects/<int:project_id>/tasks/new", methods=["GET", "POST"])
@login_required
def task_new(project_id: int):
    project = authz.get_scoped_or_404(Project, project_id, "project.add_task", current_user)
    form = _task_form(None)
    status = 200
    if form.validate_on_submit():

        def create():
            task = services.create_task(actor(), project, now=utcnow(), **_task_kwargs(form))
            if form.unit_ids.data:
                services.assign_task(
                    actor(),
                    task,
                    units_by_ids(form.unit_ids.data),
                    expected_version=task.version,
                    now=utcnow(),
                )
            return task

        task, status = run_service(create, form)
        if task:
            flash("已添加事项" + ("并交办。" if form.unit_ids.data else "，尚未交办。"), "success")
            return redirect(url_for("tasks.task_detail", task_id=task.id))
    return render_template("tasks/task_form.html", form=form, project=project, task=None), max(
        status, form_status(form)
    )


@bp.route("/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def task_edit(task_id: int):
    task = authz.get_scoped_or_404(Task, task_id, "task.edit", current_user)
    form = _task_form(task)
    status = 200
    if form.validate_on_submit():
        ok, status = run_service(
            lambda: services.update_task(
                actor(), task, expected_version=form.version.data, now=utcnow(), **_task_kwargs(form)
            ),
            form,
            versioned=task,
        )
        if ok:
            flash("已保存。", "success")
            return redirect(url_for("tasks.task_detail", task_id=task.id))
    return render_template("tasks/task_form.html", form=form, project=task.project, task=task), max(
        status, form_status(form)
    )


@bp.route("/tasks/<int:task_id>")
@login_required
def task_detail(task_id: int):
    task = _load_item(task_id)
    authz.require(current_user, "task.view", task)
    stmt = authz.scope(select(Assignment), Assignment, current_user).where(Assignment.task_id == task.id)
    assignments = list(db.session.scalars(stmt.order_by(Assignment.parent_id.is_not(None), Assignment.id)))
    form = AssignForm(version=task.version)
    form.unit_ids.choices = (
        assignable_units(current_user) if authz.can(current_user, "task.assign", task) else {}
    )
    timeline = history("Task", task.id)
    return render_template(
        "tasks/task_detail.html",
        task=task,
        decision=_meeting_decision(task),
        assignments=assignments,
        form=form,
        today=local_today(),
        light=light,
        timeline=timeline,
        users=actors_of(timeline),
        **page_links(task),
    )


def _load_item(task_id: int) -> Task:
    """The item with what its page shows of it (project, units, category, cooperators),
    in one statement, or 404 — `authz.get_scoped_or_404`'s load, eager. (Lazily they
    were four more statements; the links card needs two: issue 15.)"""
    task = (
        db.session.scalars(
            select(Task)
            .where(Task.id == task_id)
            .options(
                joinedload(Task.project),
                joinedload(Task.owner_unit),
                joinedload(Task.category),
                joinedload(Task.cooperators).joinedload(TaskCooperator.unit),
            )
            .execution_options(populate_existing=True)
        )
        .unique()
        .first()
    )
    if task is None:
        abort(404)
    return task


def _meeting_decision(task: Task):
    """The 议定事项 this item was made from (the link back to its meeting), when the user
    may read that meeting's assessment."""
    from app.indicators.models import Assessment, Meeting, MeetingDecision

    found = db.session.execute(
        select(MeetingDecision, Assessment)
        .join(Meeting, Meeting.id == MeetingDecision.meeting_id)
        .join(Assessment, Assessment.id == Meeting.assessment_id)
        .where(MeetingDecision.task_id == task.id)
    ).first()
    if found is None or not authz.sees(current_user, found[1]):
        return None
    return found


@bp.route("/tasks/<int:task_id>/assign", methods=["POST"])
@login_required
def task_assign(task_id: int):
    task = authz.get_scoped_or_404(Task, task_id, "task.assign", current_user)
    form = AssignForm()
    form.unit_ids.choices = assignable_units(current_user)
    if not form.validate_on_submit() or not form.unit_ids.data:
        flash("请选择至少一个责任单位（只能交办给本单位的下级单位）。", "danger")
        return task_detail(task_id), 400
    created, status = run_service(
        lambda: services.assign_task(
            actor(), task, units_by_ids(form.unit_ids.data), expected_version=form.version.data, now=utcnow()
        ),
        form,
        versioned=task,
    )
    if created is None:
        return task_detail(task_id), status
    flash(f"已交办 {len(created)} 项。", "success")
    return redirect(url_for("tasks.task_detail", task_id=task.id))


@bp.route("/admin/categories", methods=["GET", "POST"])
@login_required
def categories_admin():
    authz.require(current_user, "category.manage")
    form = CategoryForm()
    status = 200
    if form.validate_on_submit():
        ok, status = run_service(lambda: services.add_category(actor(), form.name.data, now=utcnow()), form)
        if ok:
            flash("已添加类别。", "success")
            return redirect(url_for("tasks.categories_admin"))
    rows = list(db.session.scalars(select(Category).order_by(Category.sort_order, Category.id)))
    return render_template("tasks/categories.html", form=form, rows=rows), max(status, form_status(form))


@bp.route("/admin/categories/<int:category_id>/toggle", methods=["POST"])
@login_required
def category_toggle(category_id: int):
    authz.require(current_user, "category.manage")
    category = db.get_or_404(Category, category_id)
    run_service(lambda: services.toggle_category(actor(), category, now=utcnow()))
    return redirect(url_for("tasks.categories_admin"))
