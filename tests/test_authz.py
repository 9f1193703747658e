"""The authorization grid: every route × every role × the target's place in the tree.

The actor sits in a base court (base1). Targets: its own unit, a subordinate
tribunal (trib1), a sibling base court (base2) and its superior intermediate
court (inter1). Expected: "ok" (allowed: the request is processed), 403 (visible
but not allowed) or 404 (hidden). Adding a route without a row here fails
`test_every_route_has_a_row`.

Task objects per position (see `_task_objects`):
- own: an item of inter1 assigned to base1 — the actor's unit receives it;
- sub: an item of base1 assigned to trib1 — the actor's unit assigned it;
- sibling: an item of inter1 assigned to base2 — hidden;
- superior: an item of the high court assigned to inter1 — hidden.
Projects: owned by the position's unit (a superior's project is visible below).

Roles: every role of app/org/models.ROLES, the three administrators of 三员分立 among
them — 系统管理员 (admin: units, accounts' basic data, reminder rules, standards,
categories, displays), 安全管理员 (secadmin: role grants, password resets, locks,
tokens, security settings) and 安全审计员 (auditor: the audit log, nothing else).
Audit rows sit in the unit of the person they record; only the 审计员 sees any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from app.attachments import Attachment, path_of
from app.dashboard.models import DisplayToken
from app.dashboard.services import _hash as display_hash
from app.extensions import db
from app.importing import ImportBatch
from app.org.models import ROLES
from app.tasks.models import Assignment, AssignmentStep, ExtensionRequest, ProgressReport, Project, Task
from app.timeutil import utcnow
from app.visits.models import Finding, Pairing, Visit, VisitKind, VisitLeader, VisitTarget
from tests import factories

POSITIONS = ("own", "sub", "sibling", "superior")
ALL_ROLES = tuple(ROLES)  # includes the 安全管理员 and the 审计员
assert {"admin", "secadmin", "auditor"} <= set(ALL_ROLES)
OK = "ok"
RECEIVERS = ("tribunal_head", "coordinator", "staff", "assigner", "leader")


# 三员分立: all an account holding only the 安全管理员's or the 审计员's role may open
# (written out here, apart from app.authz.SECURITY_ENDPOINTS, so that a page added there
# by mistake shows up as a failure); every other route answers them 403.
SECURITY_ROLES = ("secadmin", "auditor")
SECURITY_PAGES = {
    *("auth.login", "auth.second_factor", "auth.logout", "auth.change_password"),
    *("auth.mfa_page", "auth.mfa_enrol", "auth.mfa_disable", "auth.tokens_page", "auth.token_revoke"),
    *("reminders.notification_list", "reminders.notification_read", "reminders.notification_read_all"),
    *("reminders.notification_preferences", "main.index", "main.healthz", "api.token", "api.openapi"),
    "main.readyz",
    *("org.users", "org.user_detail", "org.user_roles", "org.user_reset_password"),
    *("security.settings_page", "security.locks", "security.unlock", "security.token_list"),
    *("security.token_revoke", "security.mfa_list", "security.mfa_reset"),
    *("audit.log", "audit.entry", "audit.export", "audit.verify"),
}


@dataclass
class Row:
    method: str
    path: Callable  # (ctx, position) -> url
    expect: Callable  # (role, position) -> "ok" | 403 | 404
    data: Callable | dict | None = None  # form data, or (ctx, pos) -> dict
    json: Callable | dict | None = None  # JSON body, or (ctx, pos) -> dict
    positional: bool = True  # False: the route has no target object
    status: str | None = None  # put every fixture assignment in this status first


# ---------------------------------------------------------------- expectations


def anyone(role, pos):
    return OK


def roles_only(*roles):
    return lambda role, pos: OK if role in roles else 403


admin_only = roles_only("admin")  # the 系统管理员's pages
secadmin_only = roles_only("secadmin")
auditor_only = roles_only("auditor")


def role_in_subtree(*roles):
    """An object in the actor's subtree that only these roles may act on."""

    def expect(role, pos):
        if pos not in ("own", "sub"):
            return 404
        return OK if role in roles else 403

    return expect


user_viewers = role_in_subtree("admin", "secadmin")  # an account's page: both administrators
secadmin_in_subtree = role_in_subtree("secadmin")  # role grants, password resets


def audit_rows(role, pos):
    """Audit rows exist for the 审计员 alone (everyone else: 404), within his subtree."""
    return OK if role == "auditor" and pos in ("own", "sub") else 404


def in_subtree(role, pos):
    return OK if pos in ("own", "sub") else 404


def admin_in_subtree(role, pos):
    if pos not in ("own", "sub"):
        return 404
    return OK if role == "admin" else 403


def admin_strictly_below(role, pos):
    """Admins manage units below their own, not their own root."""
    if pos not in ("own", "sub"):
        return 404
    return OK if role == "admin" and pos == "sub" else 403


def own_batch(*roles):
    """Import batches: only the uploader sees one, and only with an import role."""
    return lambda role, pos: 403 if role not in roles else (OK if pos == "own" else 404)


def project_visible(role, pos):
    return 404 if pos == "sibling" else OK


def project_edit(role, pos):
    if pos == "sibling":
        return 404
    return OK if pos in ("own", "sub") and role in ("assigner", "reviewer", "admin") else 403


def project_add_task(role, pos):
    if pos == "sibling":
        return 404
    return OK if role in ("assigner", "reviewer") else 403


def task_edit(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "sub" and role in ("assigner", "reviewer") else 403


def receiver(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "own" and role in RECEIVERS else 403


def splitter(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "own" and role in ("coordinator", "assigner") else 403


def assigning_side(role, pos):
    """Reviewers: assigners/coordinators of the assigning unit, or the high court's
    reviewers for items their own unit assigned (base1 assigned the 'sub' item)."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "sub" and role in ("assigner", "coordinator", "reviewer") else 403


def either_side(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    if pos == "own":
        return OK if role in RECEIVERS else 403
    return OK if role in ("assigner", "coordinator", "reviewer") else 403


def completion_review(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    return OK if role == "reviewer" and pos == "sub" else 403


def api_project_create(role, pos):
    if role not in ("assigner", "reviewer", "admin"):
        return 403
    return OK if pos in ("own", "sub") else 404


def visit_create(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    return OK if role in ("leader", "assigner", "reviewer") else 403


def visit_editor(role, pos):
    """The organiser's assigners/reviewers (or the visit's own leaders) record it and add findings."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "sub" and role in ("assigner", "reviewer") else 403


def rectification_verifier(role, pos):
    """The verifier (the actor, on the sub rectification) or a leader above the organiser."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "sub" else 403


def own_only(role, pos):
    """A notification is its recipient's alone (the actor's is the 'own' one)."""
    return OK if pos == "own" else 404


def circular_manager(role, pos):
    if pos in ("sibling", "superior"):
        return 404
    return OK if role == "reviewer" else 403


def published_assessment(role, pos):
    """Published assessments: of the actor's subtree, and of the courts above (they reach
    the courts below as circulars do); a sibling's: hidden."""
    return 404 if pos == "sibling" else OK


def assessment_manager(role, pos):
    if pos == "sibling":
        return 404
    return OK if role == "reviewer" and pos in ("own", "sub") else 403


def meeting_manager(role, pos):
    if pos == "sibling":
        return 404
    return OK if role in ("reviewer", "assigner", "leader") and pos in ("own", "sub") else 403


def indicator_enter(role, pos):
    if pos not in ("own", "sub"):
        return 404
    return OK if role in ("reviewer", "assigner", "coordinator") else 403


def pairing_manager(role, pos):
    """联系点 are set (and removed) for units strictly below the actor's own."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "sub" and role in ("assigner", "reviewer", "admin") else 403


def checklist_verifier(role, pos):
    """Verifiers of a checklist item: assigners, reviewers, leaders, coordinators of a unit above it."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "sub" and role in ("assigner", "reviewer", "leader", "coordinator") else 403


# discussion on an item (issue 15)
COMMENTERS = ("admin", "reviewer", "assigner", "leader", "coordinator", "tribunal_head", "staff")
commenter_in_subtree = role_in_subtree(*COMMENTERS)  # every acting role; not 只读用户


def comment_author(role, pos):
    """The actor wrote the 'own' comment; the 'sub' one is his tribunal's person's."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "own" else 403


def comment_withdrawer(role, pos):
    """The author, or a 系统管理员 above the author's unit."""
    if pos in ("sibling", "superior"):
        return 404
    return OK if pos == "own" or role == "admin" else 403


# ---------------------------------------------------------------- urls


def _unit(ctx, pos):
    return ctx.units[pos].id


def _user(ctx, pos):
    return ctx.targets[pos].id


def _batch(ctx, pos):
    return ctx.batches[pos].id


def _tbatch(ctx, pos):
    return ctx.task_batches[pos].id


def _a(ctx, pos):
    return ctx.assignments[pos].id


def _task(ctx, pos):
    return ctx.assignments[pos].task_id


def _project(ctx, pos):
    return ctx.projects[pos].id


def _u(path):
    return lambda c, p: path


ROUTES: dict[str, Row] = {
    "main.index": Row("GET", _u("/"), anyone, positional=False),
    "main.healthz": Row("GET", _u("/healthz"), anyone, positional=False),
    "auth.login": Row("GET", _u("/login"), anyone, positional=False),
    "auth.logout": Row("POST", _u("/logout"), anyone, positional=False),
    "auth.change_password": Row("GET", _u("/account/password"), anyone, positional=False),
    # org
    "org.units": Row("GET", _u("/admin/units"), admin_only, positional=False),
    "main.system_status": Row("GET", _u("/admin/system"), admin_only, positional=False),
    "org.users": Row("GET", _u("/admin/users"), roles_only("admin", "secadmin"), positional=False),
    "org.import_upload": Row("GET", _u("/admin/import"), admin_only, positional=False),
    "org.import_template": Row("GET", _u("/admin/import/template/units.csv"), admin_only, positional=False),
    "org.unit_detail": Row("GET", lambda c, p: f"/units/{_unit(c, p)}", in_subtree),
    "org.unit_new": Row("GET", lambda c, p: f"/admin/units/new?parent={_unit(c, p)}", admin_in_subtree),
    "org.unit_edit": Row("GET", lambda c, p: f"/admin/units/{_unit(c, p)}/edit", admin_in_subtree),
    "org.unit_move": Row("GET", lambda c, p: f"/admin/units/{_unit(c, p)}/move", admin_strictly_below),
    "org.unit_deactivate": Row(
        "POST", lambda c, p: f"/admin/units/{_unit(c, p)}/deactivate", admin_strictly_below
    ),
    "org.unit_activate": Row(
        "POST", lambda c, p: f"/admin/units/{_unit(c, p)}/activate", admin_strictly_below
    ),
    "org.user_new": Row("GET", _u("/admin/users/new"), admin_only, positional=False),
    "org.user_edit": Row("GET", lambda c, p: f"/admin/users/{_user(c, p)}/edit", admin_in_subtree),
    "org.user_deactivate": Row(
        "POST", lambda c, p: f"/admin/users/{_user(c, p)}/deactivate", admin_in_subtree
    ),
    "org.user_activate": Row("POST", lambda c, p: f"/admin/users/{_user(c, p)}/activate", admin_in_subtree),
    "org.user_detail": Row("GET", lambda c, p: f"/admin/users/{_user(c, p)}", user_viewers),
    # 三员分立: the 安全管理员 grants roles and resets passwords; the 系统管理员 cannot.
    "org.user_roles": Row(
        "POST",
        lambda c, p: f"/admin/users/{_user(c, p)}/roles",
        secadmin_in_subtree,
        data=lambda c, p: {"roles": ["staff", "viewer"], "version": c.targets[p].version},
    ),
    "org.user_reset_password": Row(
        "GET", lambda c, p: f"/admin/users/{_user(c, p)}/reset-password", secadmin_in_subtree
    ),
    "org.import_preview": Row("GET", lambda c, p: f"/admin/import/{_batch(c, p)}", own_batch("admin")),
    "org.import_commit": Row("POST", lambda c, p: f"/admin/import/{_batch(c, p)}/commit", own_batch("admin")),
    # projects and items
    "tasks.projects": Row("GET", _u("/projects"), anyone, positional=False),
    "tasks.project_new": Row(
        "GET", _u("/projects/new"), roles_only("assigner", "reviewer", "admin"), positional=False
    ),
    "tasks.project_detail": Row("GET", lambda c, p: f"/projects/{_project(c, p)}", project_visible),
    "tasks.project_edit": Row("GET", lambda c, p: f"/projects/{_project(c, p)}/edit", project_edit),
    "tasks.task_new": Row("GET", lambda c, p: f"/projects/{_project(c, p)}/tasks/new", project_add_task),
    "tasks.task_detail": Row("GET", lambda c, p: f"/tasks/{_task(c, p)}", in_subtree),
    "tasks.task_edit": Row("GET", lambda c, p: f"/tasks/{_task(c, p)}/edit", task_edit),
    "tasks.task_assign": Row("POST", lambda c, p: f"/tasks/{_task(c, p)}/assign", task_edit),
    # --- links between items (issue 15, helper "links"): whoever may edit the item
    "tasks.task_link_add": Row(
        "POST",
        lambda c, p: f"/tasks/{_task(c, p)}/links",
        task_edit,
        data=lambda c, p: {"kind": "related", "other_id": _task(c, "sub" if p == "own" else "own")},
    ),
    "tasks.task_link_remove": Row("POST", lambda c, p: _grid_link(c, p), task_edit),
    "api.task_link_add": Row(
        "POST",
        lambda c, p: f"/api/v1/tasks/{_task(c, p)}/links",
        task_edit,
        json=lambda c, p: {"kind": "related", "task_id": _task(c, "sub" if p == "own" else "own")},
    ),
    # Removed by whoever may link either end: every link here has the visible "own" item
    # at one end, so the hidden positions answer 403, not 404.
    "api.task_link_remove": Row(
        "DELETE",
        lambda c, p: _grid_link(c, p, api=True),
        lambda role, pos: OK if pos in ("own", "sub") and role in ("assigner", "reviewer") else 403,
    ),
    "tasks.categories_admin": Row(
        "GET", _u("/admin/categories"), roles_only("admin", "reviewer"), positional=False
    ),
    "tasks.category_toggle": Row(
        "POST", _u("/admin/categories/1/toggle"), roles_only("admin", "reviewer"), positional=False
    ),
    # assignments
    "tasks.assignment_list": Row("GET", _u("/assignments?status=open"), anyone, positional=False),
    "tasks.my_work_page": Row("GET", _u("/my"), anyone, positional=False),
    "tasks.assignment_bulk": Row("POST", _u("/assignments/bulk"), anyone, positional=False),
    "tasks.assignment_export": Row("GET", _u("/assignments.xlsx?status=open"), anyone, positional=False),
    "tasks.assignment_detail": Row("GET", lambda c, p: f"/assignments/{_a(c, p)}", in_subtree),
    "tasks.assignment_acknowledge": Row(
        "POST", lambda c, p: f"/assignments/{_a(c, p)}/acknowledge", receiver
    ),
    "tasks.assignment_report": Row(
        "POST", lambda c, p: f"/assignments/{_a(c, p)}/report", receiver, data={"text": "进展"}
    ),
    "tasks.assignment_review": Row(
        "POST",
        lambda c, p: f"/assignments/{_a(c, p)}/review",
        assigning_side,
        data={"decision": "approve"},
        status="submitted",
    ),
    "tasks.assignment_extension": Row(
        "POST",
        lambda c, p: f"/assignments/{_a(c, p)}/extension",
        receiver,
        data={"new_deadline": "2099-12-31", "reason": "原因"},
    ),
    "tasks.extension_decide": Row(
        "POST",
        lambda c, p: f"/extensions/{c.extensions[p].id}/decide",
        assigning_side,
        data={"decision": "refuse", "comment": "不同意"},
    ),
    "tasks.assignment_remind": Row("POST", lambda c, p: f"/assignments/{_a(c, p)}/remind", assigning_side),
    "tasks.assignment_split": Row("POST", lambda c, p: f"/assignments/{_a(c, p)}/split", splitter),
    "tasks.assignment_step_add": Row(
        "POST",
        lambda c, p: f"/assignments/{_a(c, p)}/steps",
        either_side,
        data={"kind": "check", "title": "检查"},
    ),
    "tasks.step_toggle": Row(
        "POST", lambda c, p: f"/steps/{c.steps[p].id}/toggle", either_side, data={"done": "1"}
    ),
    "tasks.attachment": Row("GET", lambda c, p: f"/attachments/{c.attachments[p].id}", in_subtree),
    # completion lists
    "tasks.completion": Row("GET", _u("/completion"), anyone, positional=False),
    "tasks.completion_export": Row("GET", _u("/completion.xlsx"), anyone, positional=False),
    "tasks.completion_print": Row("GET", _u("/completion/print"), anyone, positional=False),
    "tasks.completion_review": Row(
        "POST",
        _u("/completion/review"),
        completion_review,
        data=lambda c, p: {"unit_id": _unit(c, p), "decision": "confirmed"},
    ),
    # task import
    "tasks.task_import": Row(
        "GET", _u("/imports/tasks"), roles_only("assigner", "reviewer"), positional=False
    ),
    "tasks.task_import_preview": Row(
        "GET", lambda c, p: f"/imports/tasks/{_tbatch(c, p)}", own_batch("assigner", "reviewer")
    ),
    "tasks.task_import_commit": Row(
        "POST", lambda c, p: f"/imports/tasks/{_tbatch(c, p)}/commit", own_batch("assigner", "reviewer")
    ),
    # API
    "api.openapi": Row("GET", _u("/api/v1/openapi.json"), anyone, positional=False),
    "api.token": Row("POST", _u("/api/v1/auth/token"), anyone, positional=False, json={}),
    "api.units": Row("GET", _u("/api/v1/units"), anyone, positional=False),
    "api.unit_detail": Row("GET", lambda c, p: f"/api/v1/units/{_unit(c, p)}", in_subtree),
    "api.project_create": Row(
        "POST",
        _u("/api/v1/projects"),
        api_project_create,
        json=lambda c, p: {
            "name": "接口项目",
            "owner_unit_id": _unit(c, p),
            "start": "2026-01-01",
            "end": "2026-12-31",
        },
    ),
    "api.task_create": Row(
        "POST",
        _u("/api/v1/tasks"),
        project_add_task,
        json=lambda c, p: {
            "project_id": _project(c, p),
            "title": "接口事项",
            "deadline": "2026-12-31",
            "unit_ids": [],
        },
    ),
    "api.assignment_list": Row("GET", _u("/api/v1/assignments?status=open"), anyone, positional=False),
    "api.assignment_list_xlsx": Row(
        "GET", _u("/api/v1/assignments.xlsx?status=open"), anyone, positional=False
    ),
    "api.assignment_detail": Row("GET", lambda c, p: f"/api/v1/assignments/{_a(c, p)}", in_subtree),
    "api.assignment_acknowledge": Row(
        "POST", lambda c, p: f"/api/v1/assignments/{_a(c, p)}/acknowledge", receiver
    ),
    "api.assignment_progress": Row(
        "POST",
        lambda c, p: f"/api/v1/assignments/{_a(c, p)}/progress",
        receiver,
        data={"text": "进展", "percent": "50"},
    ),
    "api.assignment_review": Row(
        "POST",
        lambda c, p: f"/api/v1/assignments/{_a(c, p)}/review",
        assigning_side,
        json={"decision": "approve"},
        status="submitted",
    ),
    "api.assignment_extension": Row(
        "POST",
        lambda c, p: f"/api/v1/assignments/{_a(c, p)}/extension",
        receiver,
        json={"new_deadline": "2099-12-31", "reason": "原因"},
    ),
    "api.completion_list": Row("GET", _u("/api/v1/completion-list"), anyone, positional=False),
    "api.completion_list_xlsx": Row("GET", _u("/api/v1/completion-list.xlsx"), anyone, positional=False),
    "api.import_tasks": Row(
        "POST", _u("/api/v1/imports/tasks"), roles_only("assigner", "reviewer"), positional=False
    ),
    "api.import_commit": Row(
        "POST",
        lambda c, p: f"/api/v1/imports/{_tbatch(c, p)}/commit",
        own_batch("assigner", "reviewer"),
        json={"exclude_rows": []},
    ),
    # checklists
    "checklists.template_list": Row("GET", _u("/checklists/templates"), anyone, positional=False),
    "checklists.template_detail": Row(
        "GET", lambda c, p: f"/checklists/templates/{c.template.id}", anyone, positional=False
    ),
    "checklists.template_new": Row(
        "GET", _u("/checklists/templates/new"), roles_only("admin", "reviewer"), positional=False
    ),
    "checklists.section_add": Row(
        "POST",
        lambda c, p: f"/checklists/templates/{c.template.id}/sections",
        roles_only("admin", "reviewer"),
        data={"title": "分组"},
        positional=False,
    ),
    "checklists.item_add": Row(
        "POST",
        lambda c, p: f"/checklists/templates/{c.template.id}/items",
        roles_only("admin", "reviewer"),
        data={"code": "Z-1", "title": "检查项", "weight": "1"},
        positional=False,
    ),
    "checklists.template_publish": Row(
        "POST",
        lambda c, p: f"/checklists/templates/{c.template.id}/publish",
        roles_only("admin", "reviewer"),
        positional=False,
    ),
    "checklists.template_new_version": Row(
        "POST",
        lambda c, p: f"/checklists/templates/{c.template.id}/new-version",
        roles_only("admin", "reviewer"),
        positional=False,
    ),
    "checklists.apply": Row(
        "GET", _u("/checklists/apply"), roles_only("assigner", "reviewer"), positional=False
    ),
    "checklists.checklist_list": Row("GET", _u("/checklists"), anyone, positional=False),
    "checklists.checklist_detail": Row("GET", lambda c, p: f"/checklists/{c.checklists[p].id}", in_subtree),
    "checklists.entry_claim": Row(
        "POST",
        lambda c, p: f"/checklists/entries/{c.entries[p].id}/claim",
        receiver,
        data={"comment": "已完成"},
    ),
    "checklists.entry_verify": Row(
        "POST",
        lambda c, p: f"/checklists/entries/{c.entries[p].id}/verify",
        checklist_verifier,
        data={"decision": "verified"},
    ),
    # visits
    "visits.visit_list": Row("GET", _u("/visits"), anyone, positional=False),
    "visits.visit_new": Row(
        "GET", _u("/visits/new"), roles_only("leader", "assigner", "reviewer"), positional=False
    ),
    "visits.visit_detail": Row("GET", lambda c, p: f"/visits/{c.visits[p].id}", in_subtree),
    "visits.visit_print": Row("GET", lambda c, p: f"/visits/{c.visits[p].id}/print", in_subtree),
    "visits.visit_docx": Row("GET", lambda c, p: f"/visits/{c.visits[p].id}.docx", in_subtree),
    "visits.visit_record": Row(
        "POST",
        lambda c, p: f"/visits/{c.visits[p].id}/record",
        visit_editor,
        data={"actual_start": "2026-03-01", "actual_end": "2026-03-01", "summary": "走访情况"},
    ),
    "visits.finding_add": Row(
        "POST",
        lambda c, p: f"/visits/{c.visits[p].id}/findings",
        visit_editor,
        data=lambda c, p: {
            "unit_id": c.visits[p].targets[0].unit_id,
            "description": "问题",
            "deadline": "2099-06-30",
        },
    ),
    # The list of visit kinds is the 系统管理员's (kind 1 is a shipped one).
    "visits.kinds_admin": Row("GET", _u("/admin/visit-kinds"), admin_only, positional=False),
    "visits.kind_rename": Row(
        "POST", _u("/admin/visit-kinds/1"), admin_only, positional=False, data={"name": "调研走访"}
    ),
    "visits.kind_toggle": Row("POST", _u("/admin/visit-kinds/1/toggle"), admin_only, positional=False),
    "visits.coverage": Row("GET", lambda c, p: f"/visits/coverage?unit={_unit(c, p)}", in_subtree),
    "visits.pairing_list": Row("GET", _u("/pairings"), anyone, positional=False),
    "visits.pairing_delete": Row(
        "POST", lambda c, p: f"/pairings/{c.pairings[p].id}/delete", pairing_manager
    ),
    # reminders: notifications, preferences, rules, calendar, runs, 催办单, circulars
    "reminders.notification_list": Row("GET", _u("/notifications"), anyone, positional=False),
    "reminders.notification_read": Row("POST", lambda c, p: f"/notifications/{c.notes[p].id}/read", own_only),
    "reminders.notification_read_all": Row("POST", _u("/notifications/read-all"), anyone, positional=False),
    "reminders.notification_open": Row("GET", lambda c, p: f"/notifications/{c.notes[p].id}/open", own_only),
    "reminders.notification_preferences": Row("GET", _u("/account/notifications"), anyone, positional=False),
    "reminders.unit_email_mute": Row(
        "POST", lambda c, p: f"/admin/units/{_unit(c, p)}/email-mute", admin_in_subtree
    ),
    "reminders.rules_list": Row("GET", _u("/admin/reminders/rules"), admin_only, positional=False),
    "reminders.rule_update": Row(
        "POST", _u("/admin/reminders/rules/1"), admin_only, positional=False, data={"days": "-1"}
    ),
    "reminders.calendar": Row("GET", _u("/admin/reminders/calendar"), admin_only, positional=False),
    "reminders.calendar_delete": Row(
        "POST", lambda c, p: f"/admin/reminders/calendar/{c.override.id}/delete", admin_only, positional=False
    ),
    "reminders.runs": Row("GET", _u("/admin/reminders/runs"), admin_only, positional=False),
    "reminders.run_now": Row("POST", _u("/admin/reminders/run-now"), admin_only, positional=False),
    "reminders.urge_new": Row(
        "GET", _u("/urge/new"), roles_only("assigner", "coordinator", "reviewer", "leader"), positional=False
    ),
    "reminders.urge_create": Row("POST", _u("/urge"), assigning_side, data=lambda c, p: {"ids": [_a(c, p)]}),
    "reminders.urge_list": Row("GET", _u("/urge"), anyone, positional=False),
    "reminders.urge_detail": Row("GET", lambda c, p: f"/urge/{c.urges[p].id}", in_subtree),
    # Everyone lists the circulars addressed to their court (a draft: its reviewers alone).
    "reminders.circular_list": Row("GET", _u("/circulars"), anyone, positional=False),
    "reminders.circular_detail": Row("GET", lambda c, p: f"/circulars/{c.circulars[p].id}", circular_manager),
    "reminders.circular_save": Row(
        "POST", lambda c, p: f"/circulars/{c.circulars[p].id}", circular_manager, data={"body": "正文"}
    ),
    "reminders.circular_issue": Row(
        "POST", lambda c, p: f"/circulars/{c.circulars[p].id}/issue", circular_manager
    ),
    "reminders.circular_docx": Row(
        "GET", lambda c, p: f"/circulars/{c.circulars[p].id}.docx", circular_manager
    ),
    "reminders.circular_draft": Row("POST", _u("/circulars/draft"), roles_only("reviewer"), positional=False),
    # background jobs: each its owner's alone (the actor owns the 'own' one; a job of
    # anyone else — the sub, sibling or superior court's person — is hidden)
    "jobs.job_list": Row("GET", _u("/jobs"), anyone, positional=False),
    "jobs.job_detail": Row("GET", lambda c, p: f"/jobs/{c.jobs[p].id}", own_only),
    "jobs.job_status": Row("GET", lambda c, p: f"/jobs/{c.jobs[p].id}.json", own_only),
    "jobs.job_cancel": Row("POST", lambda c, p: f"/jobs/{c.jobs[p].id}/cancel", own_only),
    "jobs.job_download": Row("GET", lambda c, p: f"/jobs/{c.jobs[p].id}/download", own_only),
    # dashboards, rankings, trends, the wall display and its tokens
    # case-quality indicators and assessments (issue 14)
    "indicators.catalogue_page": Row("GET", _u("/indicators"), anyone, positional=False),
    "indicators.indicator_new": Row("GET", _u("/indicators/new"), roles_only("reviewer"), positional=False),
    "indicators.indicator_edit": Row(
        "GET", lambda c, p: f"/indicators/{c.indicator.id}/edit", roles_only("reviewer"), positional=False
    ),
    "indicators.catalogue_copy": Row(
        "POST", _u("/indicators/copy"), roles_only("reviewer"), positional=False
    ),
    "indicators.values_page": Row("GET", lambda c, p: f"/indicators/values?unit={_unit(c, p)}", in_subtree),
    "indicators.value_history": Row(
        "GET", lambda c, p: f"/indicators/values/{c.values[p].id}/history", in_subtree
    ),
    "indicators.compliance_page": Row(
        "GET", lambda c, p: f"/indicators/compliance?unit={_unit(c, p)}", in_subtree
    ),
    "indicators.ranking_page": Row("GET", _u("/indicators/ranking"), anyone, positional=False),
    "indicators.trend_page": Row("GET", lambda c, p: f"/indicators/trend?unit={_unit(c, p)}", in_subtree),
    "indicators.warnings_page": Row("GET", _u("/indicators/warnings"), anyone, positional=False),
    "indicators.import_upload": Row(
        "GET", _u("/indicators/import"), roles_only("reviewer", "assigner", "coordinator"), positional=False
    ),
    "indicators.import_template": Row(
        "GET",
        _u("/indicators/import/template.xlsx?month=2026-03"),
        roles_only("reviewer", "assigner", "coordinator"),
        positional=False,
    ),
    "indicators.import_preview": Row(
        "GET",
        lambda c, p: f"/indicators/import/{c.indicator_batches[p].id}",
        own_batch("reviewer", "assigner", "coordinator"),
    ),
    "indicators.import_commit": Row(
        "POST",
        lambda c, p: f"/indicators/import/{c.indicator_batches[p].id}/commit",
        own_batch("reviewer", "assigner", "coordinator"),
    ),
    "indicators.assessment_list": Row("GET", _u("/assessments"), anyone, positional=False),
    "indicators.assessment_new": Row("GET", _u("/assessments/new"), roles_only("reviewer"), positional=False),
    "indicators.assessment_detail": Row(
        "GET", lambda c, p: f"/assessments/{c.assessments[p].id}", published_assessment
    ),
    "indicators.assessment_compute": Row(
        "POST", lambda c, p: f"/assessments/{c.assessments[p].id}/compute", assessment_manager
    ),
    "indicators.assessment_publish": Row(
        "POST", lambda c, p: f"/assessments/{c.assessments[p].id}/publish", assessment_manager
    ),
    "indicators.assessment_xlsx": Row(
        "GET", lambda c, p: f"/assessments/{c.assessments[p].id}.xlsx", published_assessment
    ),
    "indicators.assessment_docx": Row(
        "GET", lambda c, p: f"/assessments/{c.assessments[p].id}.docx", published_assessment
    ),
    "indicators.assessment_meeting": Row(
        "GET", lambda c, p: f"/assessments/{c.assessments[p].id}/meeting", published_assessment
    ),
    "indicators.decision_assign": Row(
        "POST", lambda c, p: f"/assessments/decisions/{c.decisions[p].id}/assign", meeting_manager
    ),
    "api.indicator_list": Row("GET", _u("/api/v1/indicators"), anyone, positional=False),
    "api.indicator_values": Row(
        "GET", lambda c, p: f"/api/v1/indicator-values?unit={_unit(c, p)}&month=2026-03", in_subtree
    ),
    "api.indicator_values_save": Row(
        "POST",
        _u("/api/v1/indicator-values"),
        indicator_enter,
        json=lambda c, p: {
            "unit_id": _unit(c, p),
            "month": "2026-03",
            "values": [{"code": "JAL", "numerator": 1, "denominator": 2}],
        },
    ),
    "api.indicator_compliance": Row(
        "GET", lambda c, p: f"/api/v1/indicators/compliance?unit={_unit(c, p)}&month=2026-03", in_subtree
    ),
    "api.assessment_results": Row(
        "GET", lambda c, p: f"/api/v1/assessments/{c.assessments[p].id}/results", published_assessment
    ),
    # discussion on an item (issue 15): comments, @mentions, 关注
    "discussion.thread": Row("GET", lambda c, p: f"/discussion/assignments/{_a(c, p)}", in_subtree),
    "discussion.comment_post": Row(
        "POST",
        lambda c, p: f"/discussion/assignments/{_a(c, p)}/comments",
        commenter_in_subtree,
        data={"body": "意见"},
    ),
    "discussion.watch": Row(
        "POST", lambda c, p: f"/discussion/visits/{c.visits[p].id}/watch", in_subtree, data={"watch": "1"}
    ),
    "discussion.comment_edit": Row("GET", lambda c, p: f"/comments/{c.comments[p].id}/edit", comment_author),
    "discussion.comment_withdraw": Row(
        "POST",
        lambda c, p: f"/comments/{c.comments[p].id}/withdraw",
        comment_withdrawer,
        data={"version": "1"},
    ),
    "dashboard.overview": Row("GET", lambda c, p: f"/dashboard?unit={_unit(c, p)}", in_subtree),
    "dashboard.today_page": Row("GET", _u("/today"), anyone, positional=False),
    "dashboard.rankings_page": Row("GET", _u("/rankings?level=base"), anyone, positional=False),
    "dashboard.rankings_print": Row("GET", _u("/rankings/print"), anyone, positional=False),
    "dashboard.rankings_export": Row("GET", _u("/rankings.xlsx"), anyone, positional=False),
    "dashboard.trends": Row("GET", lambda c, p: f"/trends?unit={_unit(c, p)}", in_subtree),
    "dashboard.wall": Row("GET", lambda c, p: f"/wall/{c.walls[p]}", anyone),
    "dashboard.displays": Row("GET", _u("/admin/displays"), admin_only, positional=False),
    "dashboard.display_revoke": Row(
        "POST", lambda c, p: f"/admin/displays/{c.displays[p].id}/revoke", admin_in_subtree
    ),
    "api.dashboard": Row("GET", lambda c, p: f"/api/v1/dashboard?unit={_unit(c, p)}", in_subtree),
    "api.ranking_list": Row("GET", _u("/api/v1/rankings?level=base"), anyone, positional=False),
    "api.notification_list": Row("GET", _u("/api/v1/notifications?unread=1"), anyone, positional=False),
    "api.notification_read": Row(
        "POST", lambda c, p: f"/api/v1/notifications/{c.notes[p].id}/read", own_only
    ),
    # API: visits, rectifications, checklists
    "api.visit_create": Row(
        "POST",
        _u("/api/v1/visits"),
        visit_create,
        json=lambda c, p: {
            "kind": "调研走访",
            "organizer_unit_id": _unit(c, p),
            "target_unit_ids": [c.units["sub"].id],
            "start": "2099-03-01",
            "end": "2099-03-02",
            "leader_ids": [c.leaders["sub"].id],
        },
    ),
    "api.visit_detail": Row("GET", lambda c, p: f"/api/v1/visits/{c.visits[p].id}", in_subtree),
    "api.visit_finding_create": Row(
        "POST",
        lambda c, p: f"/api/v1/visits/{c.visits[p].id}/findings",
        visit_editor,
        json=lambda c, p: {
            "unit_id": c.visits[p].targets[0].unit_id,
            "description": "问题",
            "deadline": "2099-06-30",
        },
    ),
    "api.rectification_report": Row(
        "POST",
        lambda c, p: f"/api/v1/rectifications/{c.rects[p].id}/report",
        receiver,
        data={"text": "已整改"},
    ),
    "api.rectification_verify": Row(
        "POST",
        lambda c, p: f"/api/v1/rectifications/{c.rects[p].id}/verify",
        rectification_verifier,
        json={"decision": "close"},
        status="submitted",
    ),
    "api.visit_coverage": Row("GET", lambda c, p: f"/api/v1/visits/coverage?unit={_unit(c, p)}", in_subtree),
    "api.checklist_templates": Row("GET", _u("/api/v1/checklist-templates"), anyone, positional=False),
    "api.checklist_apply": Row(
        "POST",
        _u("/api/v1/checklists"),
        task_edit,
        json=lambda c, p: {
            "template_id": c.template.id,
            "unit_ids": [_unit(c, p)],
            "due": "2099-12-31",
            "reapply": True,
        },
    ),
    "api.checklist_list": Row("GET", lambda c, p: f"/api/v1/checklists?unit={_unit(c, p)}", in_subtree),
    "api.checklist_detail": Row("GET", lambda c, p: f"/api/v1/checklists/{c.checklists[p].id}", in_subtree),
    "api.checklist_entry_update": Row(
        "POST", lambda c, p: f"/api/v1/checklist-entries/{c.entries[p].id}", receiver, json={"status": "done"}
    ),
    "checklists.matrix": Row("GET", _u("/checklists/matrix"), anyone, positional=False),
    "checklists.matrix_export": Row("GET", _u("/checklists/matrix.xlsx"), anyone, positional=False),
    # 安全审计: the 审计员's pages; audit rows placed by the unit of the person they record.
    "audit.log": Row("GET", _u("/audit"), auditor_only, positional=False),
    "audit.export": Row("GET", _u("/audit.xlsx?result=denied"), auditor_only, positional=False),
    "audit.verify": Row("POST", _u("/audit/verify"), auditor_only, positional=False),
    "audit.entry": Row("GET", lambda c, p: f"/audit/{c.audit_rows[p].id}", audit_rows),
    # --- identity: tokens, MFA, security pages (helper "identity"; its _grid_token follows ROUTES)
    "auth.second_factor": Row("GET", _u("/login/verify"), anyone, positional=False),
    "auth.tokens_page": Row("GET", _u("/account/tokens"), anyone, positional=False),
    # own: the actor's own token; elsewhere the position's user's: the 安全管理员 reaches its subtree.
    "auth.token_revoke": Row(
        "POST",
        lambda c, p: f"/account/tokens/{_grid_token(c, p, actor_at_own=True)}/revoke",
        lambda role, pos: OK if pos == "own" or (role == "secadmin" and pos == "sub") else 404,
    ),
    "auth.mfa_page": Row("GET", _u("/account/mfa"), anyone, positional=False),
    "auth.mfa_enrol": Row("GET", _u("/account/mfa/enrol"), anyone, positional=False),
    "auth.mfa_disable": Row(
        "POST", _u("/account/mfa/disable"), anyone, positional=False, data={"code": "000000"}
    ),
    "security.settings_page": Row("GET", _u("/admin/security"), roles_only("secadmin"), positional=False),
    "security.locks": Row("GET", _u("/admin/security/locks"), roles_only("secadmin"), positional=False),
    "security.unlock": Row(
        "POST",
        _u("/admin/security/locks/unlock"),
        roles_only("secadmin"),
        positional=False,
        data={"username": "nobody", "ip": "10.0.0.9"},
    ),
    "security.token_list": Row("GET", _u("/admin/security/tokens"), roles_only("secadmin"), positional=False),
    "security.token_revoke": Row(
        "POST",
        lambda c, p: f"/admin/security/tokens/{_grid_token(c, p)}/revoke",
        lambda role, pos: 403 if role != "secadmin" else (OK if pos in ("own", "sub") else 404),
    ),
    "security.mfa_list": Row("GET", _u("/admin/security/mfa"), roles_only("secadmin"), positional=False),
    "security.mfa_reset": Row(
        "POST",
        lambda c, p: f"/admin/security/users/{_user(c, p)}/mfa-reset",
        lambda role, pos: 403 if role != "secadmin" else (OK if pos in ("own", "sub") else 404),
    ),
    # --- end identity
    # --- saved views (我的查询, issue 15; _grid_view follows ROUTES): own = the actor's own
    # private view; elsewhere a view the position's person shared with HIS unit — hidden.
    "savedviews.view_create": Row(
        "POST",
        _u("/saved-views"),
        anyone,
        positional=False,
        data={"list_key": "assignments", "name": "网格", "query": "status=open"},
    ),
    "savedviews.open_view": Row("GET", lambda c, p: f"/saved-views/{_grid_view(c, p)}/open", own_only),
    "savedviews.view_update": Row(
        "POST",
        lambda c, p: f"/saved-views/{_grid_view(c, p)}",
        own_only,
        data={"name": "改名", "version": "1"},
    ),
    "savedviews.view_default": Row(
        "POST",
        lambda c, p: f"/saved-views/{_grid_view(c, p)}/default",
        own_only,
        data={"on": "1", "version": "1"},
    ),
    "savedviews.view_delete": Row(
        "POST", lambda c, p: f"/saved-views/{_grid_view(c, p)}/delete", own_only, data={"version": "1"}
    ),
    # --- end saved views
    # --- calendar and Gantt (issue 15): read-only; the items shown are the user's scope
    "schedule.month": Row("GET", _u("/calendar?month=2099-06"), anyone, positional=False),
    "schedule.day": Row("GET", _u("/calendar/2099-06-30"), anyone, positional=False),
    "schedule.gantt": Row("GET", lambda c, p: f"/projects/{_project(c, p)}/gantt", project_visible),
    # --- end calendar and Gantt
    # --- global search (issue 15): every user searches; what is found is the policy's
    # (test_search_finds_exactly_what_the_policy_shows, below)
    "search.search_page": Row("GET", _u("/search?q=事项"), anyone, positional=False),
    "api.search": Row("GET", _u("/api/v1/search?q=事项"), anyone, positional=False),
    # --- end global search
}


# --- identity: made when a row above is requested (after the login, which keeps tokens)
def _grid_token(ctx, pos, actor_at_own=False):
    """A live API token of the position's user (of the actor at 'own' when asked)."""
    from app.api import tokens

    owner = ctx.actor if actor_at_own and pos == "own" else ctx.targets[pos]
    return tokens.row_for(tokens.issue(owner, now=utcnow(), label=f"grid-{pos}")).id


# --- saved views (issue 15): made when a row above is requested
def _grid_view(ctx, pos):
    """A fresh view of the actor's (own, private) or of the position's person (shared)."""
    from app.savedviews.models import SavedView

    own = pos == "own"
    owner = ctx.actor if own else ctx.targets[pos]
    count = db.session.scalar(select(db.func.count(SavedView.id)))
    view = SavedView(
        owner_id=owner.id, list_key="assignments", name=f"网格{count}", query="status=open", shared=not own
    )
    db.session.add(view)
    db.session.commit()
    return view.id


def _grid_link(ctx, pos, api=False):
    """A link of the position's item to another item of the project (links, issue 15)."""
    from app.tasks.models import TaskLink

    other = _task(ctx, "sub" if pos == "own" else "own")
    link = TaskLink(from_task_id=_task(ctx, pos), to_task_id=other, kind="related", created_at=utcnow())
    db.session.add(link)
    db.session.commit()
    return f"/api/v1/task-links/{link.id}" if api else f"/tasks/{_task(ctx, pos)}/links/{link.id}/delete"


UNTESTED = {"static", "bootstrap.static"}  # files, no data behind them
# /readyz answers 503 here (no scheduler runs in tests): anyone may call it, which
# tests/test_observability.py checks, as anonymous and as the 安全管理员 and 审计员.
UNTESTED |= {"main.readyz"}


def test_every_route_has_a_row(app):
    """A new route without a row in ROUTES fails here."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - UNTESTED
    missing = sorted(endpoints - set(ROUTES))
    stale = sorted(set(ROUTES) - endpoints)
    assert not missing, f"routes without a row in the authorization table: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"


class Ctx:
    pass


def _batch_row(kind, uploader, **kw):
    batch = ImportBatch(
        kind=kind,
        filename="x.xlsx",
        created_by_id=uploader.id,
        unit_id=uploader.unit_id,
        created_at=utcnow(),
        rows=[],
        **kw,
    )
    db.session.add(batch)
    return batch


def _task_objects(ctx, tree, uploaders):
    """Projects, items, assignments, steps, extension requests, reports with a file."""
    now = utcnow()
    ctx.projects = {}
    for pos, unit in ctx.units.items():
        ctx.projects[pos] = Project(
            name=f"项目{pos}",
            owner_unit_id=unit.id,
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
            created_at=now,
            updated_at=now,
        )
        db.session.add(ctx.projects[pos])
    db.session.flush()
    placement = {
        "own": (tree.inter1, tree.base1),
        "sub": (tree.base1, tree.trib1),
        "sibling": (tree.inter1, tree.base2),
        "superior": (tree.high, tree.inter1),
    }
    ctx.assignments, ctx.steps, ctx.extensions, ctx.attachments = {}, {}, {}, {}
    for pos, (owner, unit) in placement.items():
        task = Task(
            project_id=ctx.projects["superior"].id,
            owner_unit_id=owner.id,
            title=f"事项{pos}",
            deadline_kind="date",
            deadline=date(2099, 6, 30),
            created_at=now,
            updated_at=now,
        )
        db.session.add(task)
        db.session.flush()
        a = Assignment(
            task_id=task.id,
            unit_id=unit.id,
            assigned_by_unit_id=owner.id,
            status="pending",
            deadline=date(2099, 6, 30),
            original_deadline=date(2099, 6, 30),
            created_at=now,
            updated_at=now,
        )
        db.session.add(a)
        db.session.flush()
        ctx.assignments[pos] = a
        ctx.steps[pos] = AssignmentStep(assignment_id=a.id, kind="check", title="检查项")
        ctx.extensions[pos] = ExtensionRequest(
            assignment_id=a.id,
            requested_by_id=ctx.targets[pos].id,
            current_deadline=a.deadline,
            requested_deadline=date(2099, 12, 31),
            reason="原因",
            created_at=now,
        )
        report = ProgressReport(
            assignment_id=a.id, author_id=ctx.targets[pos].id, text="进展", created_at=now
        )
        db.session.add_all([ctx.steps[pos], ctx.extensions[pos], report])
        db.session.flush()
        att = Attachment(
            owner_type="ProgressReport",
            owner_id=report.id,
            unit_id=unit.id,
            original_name="证明.pdf",
            stored_name=f"grid{pos}",
            content_type="application/pdf",
            size=9,
            sha256="0" * 64,
            uploaded_by_id=ctx.targets[pos].id,
            created_at=now,
        )
        db.session.add(att)
        db.session.flush()
        path_of(att).write_bytes(b"%PDF-1.4\n")
        ctx.attachments[pos] = att
    ctx.task_batches = {
        pos: _batch_row("tasks", up, result={"project_id": ctx.projects["own"].id})
        for pos, up in uploaders.items()
    }


def _checklist_objects(ctx):
    """A published standard applied to each position's unit, one claimed entry each."""
    ctx.template = factories.checklist_template(
        None, sections=[{"title": "一", "items": [{"code": "A-1", "title": "甲"}]}]
    )
    ctx.checklists, ctx.entries = {}, {}
    for pos, unit in ctx.units.items():
        (checklist,) = factories.apply_checklist(None, ctx.template, unit)
        ctx.checklists[pos] = checklist
        ctx.entries[pos] = factories.set_entry(checklist, "A-1", "claimed")


def _visit_objects(ctx, tree):
    """A visit per position, placed like the assignments (organiser → visited unit), with
    a rectification whose verifier is the actor on the 'sub' one."""
    now = utcnow()
    kind = db.session.scalar(select(VisitKind).where(VisitKind.name == "调研走访"))
    placement = {
        "own": (tree.inter1, tree.base1),
        "sub": (tree.base1, tree.trib1),
        "sibling": (tree.inter1, tree.base2),
        "superior": (tree.high, tree.inter1),
    }
    ctx.visits, ctx.rects, ctx.leaders = {}, {}, {}
    for pos, (organizer, unit) in placement.items():
        lead = factories.user(f"lead_{pos}", organizer, ["leader"])
        ctx.leaders[pos] = lead
        visit = Visit(
            kind_id=kind.id,
            organizer_unit_id=organizer.id,
            title="走访",
            planned_start=date(2026, 3, 1),
            planned_end=date(2026, 3, 1),
            created_at=now,
            updated_at=now,
        )
        visit.leaders = [VisitLeader(user_id=lead.id)]
        visit.targets = [VisitTarget(unit_id=unit.id)]
        db.session.add(visit)
        task = Task(
            kind="rectification",
            owner_unit_id=organizer.id,
            verifier_id=(ctx.actor if pos == "sub" else lead).id,
            title="整改",
            deadline_kind="date",
            deadline=date(2099, 6, 30),
            created_at=now,
            updated_at=now,
        )
        db.session.add(task)
        db.session.flush()
        ctx.visits[pos] = visit
        ctx.rects[pos] = Assignment(
            task_id=task.id,
            unit_id=unit.id,
            assigned_by_unit_id=organizer.id,
            status="pending",
            deadline=date(2099, 6, 30),
            original_deadline=date(2099, 6, 30),
            created_at=now,
            updated_at=now,
        )
        db.session.add(ctx.rects[pos])
        db.session.add(
            Finding(visit_id=visit.id, unit_id=unit.id, description="问题", task_id=task.id, created_at=now)
        )
        db.session.flush()
        ctx.pairings = getattr(ctx, "pairings", {})
        ctx.pairings[pos] = Pairing(leader_id=lead.id, unit_id=unit.id, created_at=now)
        db.session.add(ctx.pairings[pos])
    db.session.flush()


def _reminder_objects(ctx):
    """Notifications (the actor's own, and others'), 催办单 sent from each position's
    unit, a circular per position, a calendar override."""
    from app.notifications import Notification
    from app.reminders.models import CalendarOverride, Circular, UrgeNotice

    now = utcnow()
    ctx.notes, ctx.urges, ctx.circulars = {}, {}, {}
    for pos, unit in ctx.units.items():
        recipient = ctx.actor if pos == "own" else ctx.targets[pos]
        ctx.notes[pos] = Notification(
            recipient_id=recipient.id,
            kind="remind",
            subject_type="Assignment",
            subject_id=ctx.assignments[pos].id,
            message="提醒",
            dedupe_key=f"g{pos}",
            created_at=now,
        )
        ctx.urges[pos] = UrgeNotice(
            sender_id=ctx.targets[pos].id,
            sender_unit_id=unit.id,
            year=2026,
            seq=1,
            number=f"〔2026〕{pos}催字第1号",
            message="催办",
            created_at=now,
        )
        ctx.circulars[pos] = Circular(
            unit_id=unit.id,
            period="2026-10",
            title="通报",
            body="正文",
            data={"ranking": {"intermediate": [], "base": []}, "red_list": []},
            created_at=now,
        )
        db.session.add_all([ctx.notes[pos], ctx.urges[pos], ctx.circulars[pos]])
    ctx.walls, ctx.displays = {}, {}
    for pos, unit in ctx.units.items():
        ctx.walls[pos] = f"wall-token-{pos}"
        ctx.displays[pos] = DisplayToken(
            unit_id=unit.id, label=f"大厅{pos}", token_hash=display_hash(ctx.walls[pos]), created_at=now
        )
        db.session.add(ctx.displays[pos])
    ctx.override = CalendarOverride(day=date(2099, 1, 1), is_workday=True, note="调休")
    db.session.add(ctx.override)
    db.session.flush()


def _context(tree, role):
    ctx = Ctx()
    ctx.units = {"own": tree.base1, "sub": tree.trib1, "sibling": tree.base2, "superior": tree.inter1}
    ctx.actor = factories.user(f"actor_{role}", tree.base1, [role])
    ctx.targets = {pos: factories.user(f"target_{pos}", u) for pos, u in ctx.units.items()}
    uploaders = {
        "own": ctx.actor,
        "sub": factories.user("admin_sub", tree.trib1, ["admin", "assigner"]),
        "sibling": factories.user("admin_sib", tree.base2, ["admin", "assigner"]),
        "superior": factories.user("admin_sup", tree.inter1, ["admin", "assigner"]),
    }
    ctx.batches = {pos: _batch_row("units", up) for pos, up in uploaders.items()}
    _task_objects(ctx, tree, uploaders)
    _checklist_objects(ctx)
    _visit_objects(ctx, tree)
    _reminder_objects(ctx)
    _audit_objects(ctx)
    _job_objects(ctx)
    _indicator_objects(ctx)
    _discussion_objects(ctx)
    db.session.commit()
    return ctx


def _discussion_objects(ctx):
    """A comment per position on its item: the actor's own on 'own', the position's
    person's elsewhere (issue 15)."""
    from app.discussion.models import Comment

    ctx.comments = {}
    for pos in POSITIONS:
        author = ctx.actor if pos == "own" else ctx.targets[pos]
        ctx.comments[pos] = Comment(
            subject_type="Assignment",
            subject_id=ctx.assignments[pos].id,
            author_id=author.id,
            body="意见",
            created_at=utcnow(),
        )
        db.session.add(ctx.comments[pos])
    db.session.flush()


def _indicator_objects(ctx):
    """The 2026 catalogue; per position a value of its unit, a published assessment
    of its unit with a meeting holding one decision, and an (empty) indicator import
    batch of the position's uploader."""
    from app.indicators.catalogue import seed_catalogue
    from app.indicators.models import Assessment, IndicatorValue, Meeting, MeetingDecision
    from app.org.models import User

    now = utcnow()
    seed_catalogue(2026, now=now)
    db.session.flush()
    from app.indicators.models import Indicator

    ctx.indicator = db.session.scalar(
        select(Indicator).where(Indicator.code == "JAL", Indicator.year == 2026)
    )
    ctx.values, ctx.assessments, ctx.decisions = {}, {}, {}
    for pos, unit in ctx.units.items():
        ctx.values[pos] = IndicatorValue(
            indicator_id=ctx.indicator.id,
            unit_id=unit.id,
            month="2026-02",
            numerator=1,
            denominator=2,
            source="api",
            entered_at=now,
        )
        a = Assessment(
            unit_id=unit.id,
            kind="quarter",
            year=2026,
            number=1,
            level="base",
            title=f"考评{pos}",
            scheme={"on_time": 1},
            status="published",
            published_version=None,
            created_at=now,
        )
        db.session.add_all([ctx.values[pos], a])
        db.session.flush()
        meeting = Meeting(
            assessment_id=a.id, held_on=date(2026, 4, 10), attendees="甲", analysis="乙", created_at=now
        )
        meeting.decisions = [MeetingDecision(number=1, text="议定事项")]
        db.session.add(meeting)
        db.session.flush()
        ctx.assessments[pos], ctx.decisions[pos] = a, meeting.decisions[0]
    # an indicator import batch per position, of the same uploader as the org import's
    ctx.indicator_batches = {
        pos: _batch_row("indicators", db.session.get(User, b.created_by_id), result={"month": "2026-02"})
        for pos, b in ctx.batches.items()
    }
    db.session.flush()


def _job_objects(ctx):
    """A finished export job per position, with its file: the actor's own at 'own', the
    position's person's elsewhere."""
    from app.background.models import BackgroundJob
    from app.background.services import jobs_dir

    now = utcnow()
    ctx.jobs = {}
    for pos in POSITIONS:
        owner = ctx.actor if pos == "own" else ctx.targets[pos]
        job = BackgroundJob(
            kind="tasks.completion_xlsx",
            owner_id=owner.id,
            unit_id=owner.unit_id,
            params={},
            state="done",
            done=1,
            total=1,
            created_at=now,
            finished_at=now,
            result_filename="完成清单.xlsx",
        )
        db.session.add(job)
        db.session.flush()
        job.result_path = f"{job.id}/result.xlsx"
        (jobs_dir() / str(job.id)).mkdir(parents=True, exist_ok=True)
        (jobs_dir() / job.result_path).write_bytes(b"PK\x03\x04")
        ctx.jobs[pos] = job
    db.session.flush()


def _audit_objects(ctx):
    """One audit row per position, recording something its unit's person did."""
    from app.audit import services

    rows = services.write([services.Event("write", user=ctx.targets[pos]) for pos in POSITIONS])
    ctx.audit_rows = dict(zip(POSITIONS, rows, strict=True))


def _outcome(resp) -> object:
    resp.close()  # file responses hold the file open until closed
    if resp.status_code in (403, 404):
        return resp.status_code
    location = resp.headers.get("Location", "")
    assert "/login" not in location or resp.request.path in ("/logout",), (
        f"unexpected redirect to login from {resp.request.path}"
    )
    assert resp.status_code in (200, 201, 204, 302, 303, 400, 409), (
        f"{resp.request.path} → {resp.status_code}"
    )
    return OK


def _value(spec, ctx, pos):
    return spec(ctx, pos) if callable(spec) else spec


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_grid(app, client, tree, login, endpoint, role):
    """role × position → allowed / 403 / 404, for one route."""
    row = ROUTES[endpoint]
    ctx = _context(tree, role)
    if row.status:
        for a in [*ctx.assignments.values(), *ctx.rects.values()]:
            a.status = row.status
        db.session.commit()
    positions = POSITIONS if row.positional else ("own",)
    failures = []
    for pos in positions:
        login(ctx.actor)
        url = row.path(ctx, pos)
        kwargs = (
            {"json": _value(row.json, ctx, pos)}
            if row.json is not None
            else {"data": _value(row.data, ctx, pos) or {}}
        )
        resp = client.open(url, method=row.method, **kwargs)
        got = _outcome(resp)
        want = row.expect(role, pos)
        if role in SECURITY_ROLES and endpoint not in SECURITY_PAGES:
            want = 403  # 三员分立: refused before the view, whatever the object
        if got != want:
            failures.append(f"{row.method} {url} as {role} on {pos}: got {got}, expected {want}")
        client.post("/logout")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_anonymous_is_sent_to_login(app, client, tree, endpoint):
    """Without a session every page but login and the health check asks to log in;
    the API answers 401 in JSON."""
    row = ROUTES[endpoint]
    ctx = _context(tree, "viewer")
    kwargs = {"json": _value(row.json, ctx, "own")} if row.json is not None else {}
    resp = client.open(row.path(ctx, "own"), method=row.method, **kwargs)
    if endpoint in ("auth.login", "main.healthz", "api.openapi", "dashboard.wall"):  # the wall needs no login
        assert resp.status_code == 200
    elif endpoint == "api.token":
        assert resp.status_code == 400  # an empty body: no credentials to check
    elif endpoint.startswith("api."):
        assert resp.status_code == 401
        assert "error" in resp.get_json()
    else:
        assert resp.status_code == 302
        assert "/login" in resp.headers["Location"]


def test_api_bearer_token_works_and_a_bad_one_does_not(app, client, tree):
    """API clients authenticate with a bearer token from /auth/token."""
    factories.user("api_user", tree.base1, ["coordinator"])
    db.session.commit()
    resp = client.post("/api/v1/auth/token", json={"username": "api_user", "password": factories.PASSWORD})
    token = resp.get_json()["token"]
    ok = client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and {u["name"] for u in ok.get_json()} >= {"甲一区人民法院", "东山人民法庭"}
    bad = client.get("/api/v1/units", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    wrong = client.post("/api/v1/auth/token", json={"username": "api_user", "password": "wrong-pass1"})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_json()["error"]


# ---------------------------------------------------------------- the assignment scope in SQL


def _assignment_placements(tree) -> dict[str, tuple]:
    """(assigning unit, receiving unit) of an item per case, across the tree."""
    return {
        "down": (tree.inter1, tree.base1),  # the usual way: from a court to one below it
        "own_split": (tree.base1, tree.trib1),
        "sideways": (tree.inter2, tree.base1),  # inter2's item, assigned by the high court to base1
        "sideways_deep": (tree.base3, tree.trib3),  # base3's item, sent into inter1's subtree
        "to_high": (tree.trib2, tree.high),  # upward: both ends visible only from the top
        "inside_inter2": (tree.inter2, tree.base3),
    }


def _place_items(tree, placements: dict[str, tuple]) -> dict[str, Assignment]:
    now = utcnow()
    out = {}
    for key, (by, unit) in placements.items():
        task = Task(
            owner_unit_id=by.id,
            title=f"事项{key}",
            deadline_kind="date",
            deadline=date(2099, 6, 30),
            created_at=now,
            updated_at=now,
        )
        db.session.add(task)
        db.session.flush()
        out[key] = Assignment(
            task_id=task.id,
            unit_id=unit.id,
            assigned_by_unit_id=by.id,
            status="pending",
            deadline=date(2099, 6, 30),
            original_deadline=date(2099, 6, 30),
            created_at=now,
            updated_at=now,
        )
        db.session.add(out[key])
    db.session.commit()
    return out


def _subtree(unit_id: int) -> set[int]:
    from app.authz import scope_unit_ids_of

    return set(db.session.scalars(scope_unit_ids_of(unit_id)))


def _scoped_ids(user) -> set[int]:
    from app import authz

    return set(db.session.scalars(authz.scope(select(Assignment.id), Assignment, user)))


def _expected_ids(user, items: dict[str, Assignment]) -> set[int]:
    """The rule itself: received by the user's subtree, or assigned by it."""
    below = _subtree(user.unit_id)
    return {a.id for a in items.values() if a.unit_id in below or a.assigned_by_unit_id in below}


def test_assignment_scope_in_sql_is_the_policy_at_every_unit(app, tree):
    """The SQL filter of assignments (`authz.scope`) keeps exactly what `sees` allows, for
    a user at every unit, with items assigned down, sideways (the assigning unit in the
    subtree, the receiving one outside it, and the other way round) and upward."""
    from app import authz

    items = _place_items(tree, _assignment_placements(tree))
    units = [tree.high, tree.inter1, tree.inter2, tree.base1, tree.base2, tree.base3, tree.trib1, tree.trib2]
    users = [factories.user(f"scope_{u.id}", u, ["viewer"]) for u in units]
    db.session.commit()
    for user in users:
        want = _expected_ids(user, items)
        assert _scoped_ids(user) == want, user.username
        assert {a.id for a in items.values() if authz.sees(user, a)} == want, user.username
    # The sideways items are seen from the assigning side alone — the cases the rewrite
    # of the OR must keep.
    inter2 = users[units.index(tree.inter2)]
    base3 = users[units.index(tree.base3)]
    assert items["sideways"].id in _scoped_ids(inter2)
    assert items["sideways_deep"].id in _scoped_ids(base3)
    assert items["sideways_deep"].id in _scoped_ids(users[units.index(tree.inter1)])
    assert items["to_high"].id in _scoped_ids(users[units.index(tree.trib2)])
    assert items["to_high"].id not in _scoped_ids(users[units.index(tree.trib1)])


def test_assignment_scope_after_a_move_and_in_another_tree(app, tree):
    """A unit moved away keeps its items visible to the court that assigned them; a
    second tree's items stay out of the first's, and the other way round."""
    from app.org import services as org_services

    items = _place_items(tree, {"down": (tree.inter1, tree.trib1), "kept": (tree.base1, tree.trib2)})
    other_root = factories.unit("另一省高级人民法院", "high")
    other_inter = factories.unit("丙市中级人民法院", "intermediate", other_root)
    items |= _place_items(tree, {"other": (other_root, other_inter)})
    watcher_inter1 = factories.user("scope_inter1", tree.inter1, ["viewer"])
    watcher_inter2 = factories.user("scope_inter2", tree.inter2, ["viewer"])
    watcher_high = factories.user("scope_high", tree.high, ["viewer"])
    watcher_other = factories.user("scope_other", other_root, ["viewer"])
    db.session.commit()
    org_services.move_unit(None, tree.base1, tree.inter2, expected_version=tree.base1.version, now=utcnow())
    db.session.commit()
    for user in (watcher_inter1, watcher_inter2, watcher_high, watcher_other):
        assert _scoped_ids(user) == _expected_ids(user, items), user.username
    # trib1 now lies under inter2, but inter1 assigned its item: inter1 still sees it.
    assert items["down"].id in _scoped_ids(watcher_inter1)
    assert items["kept"].id in _scoped_ids(watcher_inter2) and items["kept"].id not in _scoped_ids(
        watcher_inter1
    )
    assert _scoped_ids(watcher_other) == {items["other"].id}
    assert items["other"].id not in _scoped_ids(watcher_high)


def test_the_units_holding_items_assigned_out_of_a_subtree_follow_the_items(app, tree):
    """What the scope asks per request (the units outside the user's subtree that hold
    items assigned from inside it) is read from the assigning pairs, which triggers keep:
    an item sent sideways adds its unit, re-pointed inside the subtree or deleted it
    drops out again — with no other item changed, and by SQL written by hand as well."""
    from sqlalchemy import delete, update

    from app import authz

    inter2 = factories.user("out_inter2", tree.inter2, ["viewer"])
    base3 = factories.user("out_base3", tree.base3, ["viewer"])
    items = _place_items(tree, {"down": (tree.inter2, tree.base3), "sideways": (tree.inter2, tree.base1)})
    assert authz.assigned_out_units(inter2) == {tree.base1.id}
    assert authz.assigned_out_units(base3) == frozenset()
    sideways = items["sideways"]
    db.session.execute(update(Assignment).where(Assignment.id == sideways.id).values(unit_id=tree.base3.id))
    assert authz.assigned_out_units(inter2) == frozenset()
    db.session.execute(update(Assignment).where(Assignment.id == sideways.id).values(unit_id=tree.trib1.id))
    assert authz.assigned_out_units(inter2) == {tree.trib1.id}
    assert sideways.id in _scoped_ids(inter2)
    db.session.execute(delete(Assignment).where(Assignment.id == sideways.id))
    assert authz.assigned_out_units(inter2) == frozenset()
    assert _scoped_ids(inter2) == {items["down"].id}
    # read from the pairs, never the items (0.9 ms a request for an intermediate court)
    sql = " ".join(str(authz._scope_sets_statement().compile(db.engine)).split())
    assert "JOIN assignment_pairs" in sql and "assignments" not in sql.replace("assignment_pairs", ""), sql


def test_assignment_list_shows_an_item_assigned_sideways_from_the_subtree(app, tree, as_user):
    """Through a request (where the units receiving sideways are loaded once): the court
    whose item the high court assigned to a unit outside its subtree lists it, in the
    page and in the API; a court on neither side does not."""
    high = factories.user("scope_high_assigner", tree.high, ["assigner"])
    inter2 = factories.user("scope_inter2_assigner", tree.inter2, ["assigner"])
    base2 = factories.user("scope_base2_viewer", tree.base2, ["coordinator"])
    factories.receivers(tree.base1)
    proj = factories.project(high, tree.high)
    item = factories.task(inter2, proj, title="乙市中院的事项")
    (a,) = factories.assign(high, item, tree.base1)
    db.session.commit()
    assert a.assigned_by_unit_id == tree.inter2.id and a.unit_id == tree.base1.id
    for user, seen in ((inter2, True), (base2, False), (high, True)):
        c = as_user(user)
        page = c.get("/assignments?status=open").get_data(as_text=True)
        assert (f"/assignments/{a.id}" in page) is seen, user.username
        c2 = as_user(user)
        token = c2.post(
            "/api/v1/auth/token", json={"username": user.username, "password": factories.PASSWORD}
        ).get_json()["token"]
        api = c2.get("/api/v1/assignments?status=open", headers={"Authorization": f"Bearer {token}"})
        assert (a.id in {row["id"] for row in api.get_json()["items"]}) is seen, user.username


# --- global search (issue 15)
# A word each of the grid's objects of a kind holds (titles, report text, descriptions).
SEARCH_WORDS = {
    "task": "事项",
    "report": "进展",
    "visit": "走访",
    "finding": "问题",
    "rectification": "整改",
    "circular": "通报",
    "unit": "人民",
}


def _searchable(kind):
    """(model of the page, its view action, the objects of this kind in the grid)."""
    from app.org.models import Unit
    from app.reminders.models import Circular

    if kind == "task":
        return "task.view", db.session.scalars(select(Task).where(Task.kind == "task")).all()
    if kind in ("report", "rectification"):
        want = "task" if kind == "report" else "rectification"
        rows = db.session.scalars(select(Assignment).join(Task).where(Task.kind == want)).all()
        if kind == "report":
            with_reports = set(db.session.scalars(select(ProgressReport.assignment_id)))
            rows = [a for a in rows if a.id in with_reports]
        return "assignment.view", rows
    model = {"visit": Visit, "finding": Finding, "circular": Circular, "unit": Unit}[kind]
    action = {
        "visit": "visit.view",
        "finding": "visit.view",
        "circular": "circular.view",
        "unit": "unit.view",
    }
    return action[kind], db.session.scalars(select(model)).all()


@pytest.mark.parametrize("role", ("reviewer", "assigner", "leader", "coordinator", "tribunal_head", "staff"))
def test_search_finds_exactly_what_the_policy_shows(app, tree, as_user, role):
    """For each kind, the API's search finds the grid objects the actor may open (the
    per-object policy, `sees` and the view rule) and nothing else."""
    from app import authz

    ctx = _context(tree, role)
    client = as_user(ctx.actor)
    failures = []
    for kind, word in SEARCH_WORDS.items():
        action, objects = _searchable(kind)
        expected = set()
        for obj in objects:
            target = db.session.get(Visit, obj.visit_id) if kind == "finding" else obj
            if authz.sees(ctx.actor, target) and authz.can(ctx.actor, action, target):
                expected.add(obj.id)
        resp = client.get("/api/v1/search", query_string={"q": word, "kind": kind, "per_page": 50})
        got = {i["id"] for i in resp.get_json()["items"]}
        if got != expected:
            failures.append(f"{kind} as {role}: found {sorted(got)}, may see {sorted(expected)}")
    assert not failures, "\n".join(failures)


def test_a_kept_unit_scope_is_the_policy_at_every_unit(app, tree):
    """`authz.kept_scope(M)` — the policy's clause built once, the user's unit and id
    bound at run time — keeps exactly what `authz.scope` keeps, for users at every
    level; a clause that reads more of the user (the audit log's: roles) cannot be kept."""
    from app import authz
    from app.audit.models import AuditEntry
    from app.org.models import Unit, User

    units = [tree.high, tree.inter1, tree.inter2, tree.base1, tree.base3, tree.trib1]
    users = [factories.user(f"kept_{u.id}", u, ["viewer"]) for u in units]
    owner = factories.user("kept_owner", tree.high, ["reviewer"])
    for u in (tree.high, tree.inter1, tree.base3):
        factories.project(owner, u, name=f"{u.name}的项目")
    db.session.commit()
    for model in (Unit, User, Project):  # SavedView: tests/savedviews
        kept = select(model.id).where(authz.kept_scope(model))
        for user in users:
            want = set(db.session.scalars(authz.scope(select(model.id), model, user)))
            got = set(db.session.scalars(kept, authz.scope_params(user)))
            assert got == want, (model.__name__, user.username)
            assert want, (model.__name__, user.username)  # each user sees something: not vacuous
    with pytest.raises(AttributeError):
        authz.kept_scope(AuditEntry)


def test_visible_ids_are_the_policy_at_every_unit(app, tree):
    """`authz.visible_ids(M)` — for items and visits the policy's OR of two ways in said
    as a UNION — and `authz.sees_id(M)` — one EXISTS per way — keep exactly what
    `authz.scope` keeps, for users at every level, with
    items owned and assigned across the tree (down, sideways, upward) and visits seen by
    the organiser's subtree or by the units visited alone."""
    from sqlalchemy.orm import aliased

    from app import authz
    from app.org.models import Unit
    from app.reminders.models import Circular

    _place_items(tree, _assignment_placements(tree))
    leaders = factories.visit_users(tree)
    for leader, organiser, targets in (
        (leaders.leader, tree.inter1, [tree.trib1]),
        (leaders.high_leader, tree.high, [tree.base3, tree.trib2]),
        (leaders.other_leader, tree.inter2, [tree.base3]),
        (leaders.leader2, tree.inter1, [tree.base2]),
    ):
        factories.visit(leader, organiser, [leader], targets)
    db.session.commit()
    units = [tree.high, tree.inter1, tree.inter2, tree.base1, tree.base2, tree.base3, tree.trib1, tree.trib2]
    users = [factories.user(f"ids_{u.id}", u, ["viewer"]) for u in units]
    db.session.commit()
    for model in (Task, Visit, Assignment, Unit, Circular):
        for user in users:
            want = set(db.session.scalars(authz.scope(select(model.id), model, user)))
            got = list(db.session.scalars(authz.visible_ids(model, user)))
            assert sorted(got) == sorted(set(got)) and set(got) == want, (model.__name__, user.username)
            outer = aliased(model)  # `sees_id` asked of another query's column, object by object
            asked = set(db.session.scalars(select(outer.id).where(authz.sees_id(model, user, outer.id))))
            assert asked == want, (model.__name__, user.username)
    sizes = {m: {len(set(db.session.scalars(authz.visible_ids(m, u)))) for u in users} for m in (Task, Visit)}
    assert all(len(s) > 2 for s in sizes.values()), sizes  # users see different sets: not vacuous
