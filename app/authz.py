"""The policy: who may do what, where. The only place that decides access.

Visibility starts from the user's unit and everything below it (one indexed lookup
on the closure table). Each model says how it sits in the tree (`CLAUSES` for SQL
lists, `_SEES` for one object); lists are filtered in SQL with `scope()`; single
objects are loaded with `get_scoped_or_404()` (hidden → 404, visible but not
allowed → 403); `can()` answers for one object, including which status
transitions a role may make. Unknown actions fail closed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, has_request_context
from sqlalchemy import Integer, Select, and_, bindparam, exists, false, literal, or_, select, union, union_all
from sqlalchemy.orm import aliased

from app.attachments import Attachment
from app.audit.models import AuditEntry
from app.background.models import BackgroundJob
from app.checklists.models import Checklist, ChecklistEntry, ChecklistTemplate
from app.dashboard.models import DisplayToken
from app.extensions import db
from app.importing import ImportBatch
from app.org.models import Unit, UnitClosure, User
from app.reminders.circular_models import CircularAddressee
from app.reminders.models import Circular, UrgeNotice
from app.sqlutil import prebuilt
from app.tasks.models import (
    Assignment,
    AssignmentPair,
    AssignmentStep,
    ExtensionRequest,
    ProgressReport,
    Project,
    Task,
)
from app.visits.models import Finding, Pairing, Visit, VisitTarget

# Who works on an item in the receiving unit, and who reviews it in the assigning unit.
RECEIVER_ROLES = ("tribunal_head", "coordinator", "staff", "assigner", "leader")
SPLITTER_ROLES = ("coordinator", "assigner")
ASSIGNER_ROLES = ("assigner", "reviewer")
REVIEWER_ROLES = ("assigner", "coordinator")


def scope_unit_ids(user: Any) -> Select:
    """SELECT of the ids of the units this user can see (own unit and below)."""
    return scope_unit_ids_of(user.unit_id)


def scope_unit_ids_of(unit_id: int) -> Select:
    """SELECT of a unit and everything below it."""
    return select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == unit_id)


def ancestor_unit_ids(user: Any) -> Select:
    """SELECT of the user's unit and the units above it."""
    return select(UnitClosure.ancestor_id).where(UnitClosure.descendant_id == user.unit_id)


def visible_unit_ids(user: Any) -> frozenset[int]:
    """The visible set, loaded once per request for per-object checks."""
    return _scope_sets(user)[_BELOW]


def assigned_out_units(user: Any) -> frozenset[int]:
    """The units outside the user's subtree that hold items assigned from inside it —
    nearly always none (see `_assignment_clause`). Loaded with the visible set, in the
    same statement, once per request."""
    return _scope_sets(user)[_OUT]


def ancestor_ids(user: Any) -> frozenset[int]:
    """The user's unit and the units above it. Loaded with the visible set, in the same
    statement, once per request (a list filtered to a unit asks it)."""
    return _scope_sets(user)[_ABOVE]


# Which set a row of `_scope_sets_statement` belongs to (its second column).
_BELOW, _OUT, _ABOVE = 0, 1, 2


def _scope_sets(user: Any) -> tuple[frozenset[int], ...]:
    if not getattr(user, "is_authenticated", False):
        return frozenset(), frozenset(), frozenset()
    cache: dict | None = None
    if has_request_context():
        cache = g.setdefault("_authz_visible", {})
        if user.id in cache:
            return cache[user.id]
    found: tuple[set[int], ...] = (set(), set(), set())
    for unit_id, which in db.session.execute(*_scope_sets_query(user)):
        found[which].add(unit_id)
    sets = tuple(frozenset(ids) for ids in found)
    if cache is not None:
        cache[user.id] = sets
    return sets


def _scope_sets_query(user: Any):
    """The subtree (_BELOW), the unit and those above it (_ABOVE) and, but for the top of
    a tree, the units outside it holding items assigned from inside it (_OUT). A root is
    skipped there: no item crosses from one tree to another (items are assigned, and
    units moved, only within the acting user's subtree), so a root's subtree holds both
    ends of each of its items. The assigning side is a join from the subtree's closure rows to the
    pairs of (assigning unit, receiving unit) with their number of items
    (AssignmentPair, kept by triggers): a few rows per unit. Read from the items
    themselves — every index entry of every item the subtree ever assigned — it cost an
    intermediate court 0.9 ms a request (SQLite and PostgreSQL alike), and as
    `assigned_by_unit_id IN (subquery)` with DISTINCT, SQLite scanned every item of
    the province in unit order (10 ms)."""
    return _scope_sets_statement(), {"unit_id": user.unit_id}


@prebuilt
def _scope_sets_statement():
    unit_id = bindparam("unit_id", type_=Integer)
    below = select(UnitClosure.descendant_id).where(UnitClosure.ancestor_id == unit_id)
    not_root = exists().where(Unit.id == unit_id, Unit.parent_id.is_not(None))
    # issue 15 (search): nothing read for a root, so that no assignment is read
    # (SQLite tested `not_root` on each of the province's: 14–60 ms a request)
    assigning = aliased(UnitClosure)
    out = (
        select(AssignmentPair.unit_id, literal(_OUT))
        .select_from(assigning)
        .join(AssignmentPair, AssignmentPair.assigned_by_unit_id == assigning.descendant_id)
        .where(
            assigning.ancestor_id == unit_id,
            not_root,
            AssignmentPair.n > 0,
            AssignmentPair.unit_id.not_in(below),
        )
        .distinct()
    )
    above = select(UnitClosure.ancestor_id, literal(_ABOVE)).where(UnitClosure.descendant_id == unit_id)
    return union_all(
        select(UnitClosure.descendant_id, literal(_BELOW)).where(UnitClosure.ancestor_id == unit_id),
        out,
        above,
    )


def forget_cached_scope() -> None:
    """The tree changed (a unit added or moved): drop this request's cached sets."""
    if has_request_context():
        g.pop("_authz_visible", None)


# ---------------------------------------------------------------- visibility per model


def _task_ways(user: Any) -> tuple[Any, Select]:
    """An item is seen by its owner's subtree (a condition on the item) and by the
    subtrees it is assigned to (the ids of those items)."""
    in_scope = scope_unit_ids(user)
    assigned_here = select(Assignment.task_id).where(Assignment.unit_id.in_(in_scope))
    return Task.owner_unit_id.in_(in_scope), assigned_here


def _visit_ways(user: Any) -> tuple[Any, Select]:
    """A visit: the organiser's subtree (a condition on the visit), and the units visited
    (the ids of their visits)."""
    in_scope = scope_unit_ids(user)
    visited = select(VisitTarget.visit_id).where(VisitTarget.unit_id.in_(in_scope))
    return Visit.organizer_unit_id.in_(in_scope), visited


def _either(model: type, ways: Callable[[Any], tuple[Any, Select]]) -> Callable[[Any], Any]:
    """The clause of a model seen by either of two ways in (`_WAYS`)."""

    def clause(user: Any):
        own_row, listed = ways(user)
        return or_(own_row, model.id.in_(listed))

    return clause


CLAUSES: dict[type, Callable[[Any], Any]] = {
    Unit: lambda u: Unit.id.in_(scope_unit_ids(u)),
    User: lambda u: User.unit_id.in_(scope_unit_ids(u)),
    # Programme projects set above are visible below; the items in them are not.
    Project: lambda u: or_(
        Project.owner_unit_id.in_(scope_unit_ids(u)), Project.owner_unit_id.in_(ancestor_unit_ids(u))
    ),
    Task: _either(Task, _task_ways),
    Visit: _either(Visit, _visit_ways),
    Checklist: lambda u: Checklist.unit_id.in_(scope_unit_ids(u)),
    ChecklistTemplate: lambda u: ChecklistTemplate.id.is_not(None),  # standards are public to all users
    Pairing: lambda u: Pairing.unit_id.in_(scope_unit_ids(u)),
    # A circular: its court's subtree (a draft only for its reviewers), and once issued
    # the courts it names and the units above them.
    Circular: lambda u: _circular_clause(u),
    DisplayToken: lambda u: DisplayToken.unit_id.in_(scope_unit_ids(u)),
    AuditEntry: lambda u: _audit_clause(u),
    # A background job (an import, an export, a circular) is its owner's alone.
    BackgroundJob: lambda u: BackgroundJob.owner_id == u.id,
    # The receiving side and the assigning side both see an assignment.
    Assignment: lambda u: _assignment_clause(u),
}


def _assignment_clause(user: Any):
    """SQL twin of `_SEES[Assignment]`: received by a unit of the user's subtree, or
    assigned by one. Said as that OR, PostgreSQL can use no index for either side and
    reads every open item of the country in deadline order to keep one court's. Nearly
    always the OR adds nothing — an item goes down the tree, so what the subtree assigned
    was received inside it too — and then the clause is the receiving side alone, which
    an index serves (unit_closure → ix_assignments_unit_status_deadline). The exceptions
    (an item of a lower court assigned to a unit beside it, a unit moved since) are
    looked up per request: the units outside the subtree holding items assigned from
    inside it. When there are any, their items are let in too, with the full test."""
    in_scope = scope_unit_ids(user)
    receivers = assigned_out_units(user)
    if not receivers:
        return Assignment.unit_id.in_(in_scope)
    beyond = select(Unit.id).where(Unit.id.in_(sorted(receivers)))
    return and_(
        Assignment.unit_id.in_(union(in_scope, beyond)),
        or_(Assignment.unit_id.in_(in_scope), Assignment.assigned_by_unit_id.in_(in_scope)),
    )


def _circular_clause(user: Any):
    in_scope = scope_unit_ids(user)
    own = Circular.unit_id.in_(in_scope)
    addressed = Circular.id.in_(
        select(CircularAddressee.circular_id).where(CircularAddressee.unit_id.in_(in_scope))
    )
    issued = and_(Circular.status == "issued", or_(own, addressed))
    return or_(and_(own, Circular.status != "issued"), issued) if _role(user, "reviewer") else issued


def _addressed_below(user: Any, circular: Any) -> bool:
    """A court the issued circular names is this user's unit or below it."""
    return (
        db.session.scalar(
            select(CircularAddressee.unit_id)
            .where(CircularAddressee.circular_id == circular.id)
            .where(CircularAddressee.unit_id.in_(scope_unit_ids(user)))
            .limit(1)
        )
        is not None
    )


def _is_root_user(user: Any) -> bool:
    unit = db.session.get(Unit, user.unit_id)
    return unit is not None and unit.parent_id is None


def _audit_clause(user: Any):
    """Audit rows exist for the 审计员 alone: those of the people of his subtree; rows
    with no unit (a failed login under an unknown name) belong to the top of the tree."""
    if not _role(user, "auditor"):
        return false()
    clause = AuditEntry.unit_id.in_(scope_unit_ids(user))
    return or_(clause, AuditEntry.unit_id.is_(None)) if _is_root_user(user) else clause


def _sees_audit_row(user: Any, row: AuditEntry) -> bool:
    if not _role(user, "auditor"):
        return False
    if row.unit_id is None:
        return _is_root_user(user)
    return row.unit_id in visible_unit_ids(user)


def _sees_task(user: Any, task: Task) -> bool:
    visible = visible_unit_ids(user)
    if task.owner_unit_id in visible:
        return True
    return bool(
        db.session.scalar(
            select(
                exists().where(Assignment.task_id == task.id, Assignment.unit_id.in_(scope_unit_ids(user)))
            )
        )
    )


def _sees_attachment(user: Any, att: Attachment) -> bool:
    owner = attachment_owner(att)
    return owner is not None and sees(user, owner)


_SEES: dict[type, Callable[[Any, Any], bool]] = {
    Unit: lambda u, o: o.id in visible_unit_ids(u),
    User: lambda u, o: o.unit_id in visible_unit_ids(u),
    Project: lambda u, o: o.owner_unit_id in visible_unit_ids(u) or o.owner_unit_id in ancestor_ids(u),
    Task: _sees_task,
    Assignment: lambda u, o: o.unit_id in visible_unit_ids(u) or o.assigned_by_unit_id in visible_unit_ids(u),
    ExtensionRequest: lambda u, o: sees(u, db.session.get(Assignment, o.assignment_id)),
    ProgressReport: lambda u, o: sees(u, db.session.get(Assignment, o.assignment_id)),
    AssignmentStep: lambda u, o: sees(u, db.session.get(Assignment, o.assignment_id)),
    Attachment: _sees_attachment,
    ImportBatch: lambda u, o: o.created_by_id == u.id,
    Visit: lambda u, o: (
        o.organizer_unit_id in visible_unit_ids(u) or any(t.unit_id in visible_unit_ids(u) for t in o.targets)
    ),
    Finding: lambda u, o: sees(u, db.session.get(Visit, o.visit_id)),
    Pairing: lambda u, o: o.unit_id in visible_unit_ids(u),
    Circular: lambda u, o: (
        o.unit_id in visible_unit_ids(u) or (o.status == "issued" and _addressed_below(u, o))
    ),
    DisplayToken: lambda u, o: o.unit_id in visible_unit_ids(u),
    UrgeNotice: lambda u, o: o.sender_unit_id in visible_unit_ids(u) or _is_urge_recipient(u, o),
    ChecklistTemplate: lambda u, o: True,
    Checklist: lambda u, o: o.unit_id in visible_unit_ids(u),
    ChecklistEntry: lambda u, o: sees(u, db.session.get(Checklist, o.checklist_id)),
    AuditEntry: _sees_audit_row,
    BackgroundJob: lambda u, o: o.owner_id == u.id,
}

# Owners of attachments, by the owner_type an attachment records.
ATTACHMENT_OWNERS: dict[str, type] = {
    "ProgressReport": ProgressReport,
    "AssignmentStep": AssignmentStep,
    "Visit": Visit,
    "ChecklistEntry": ChecklistEntry,
}


def attachment_owner(att: Attachment) -> Any:
    model = ATTACHMENT_OWNERS.get(att.owner_type)
    return db.session.get(model, att.owner_id) if model else None


def sees(user: Any, obj: Any) -> bool:
    """Whether the object is visible to the user."""
    if not getattr(user, "is_authenticated", False):
        return False
    check = _SEES.get(type(obj))
    return bool(check and check(user, obj))


def scope(query: Select, model: type, user: Any) -> Select:
    """Restrict a list query to the rows the user may see (in SQL)."""
    clause = CLAUSES.get(model)
    return query.where(clause(user) if clause else false())


# The models whose clause is an OR of two ways in: a condition on the model's own row,
# and a list of its ids from another table.
_WAYS: dict[type, Callable[[Any], tuple[Any, Select]]] = {Task: _task_ways, Visit: _visit_ways}


def visible_ids(model: type, user: Any) -> Any:
    """SELECT of the ids of `model` the user may see — the set `scope` keeps — for a
    caller that starts from what a narrow user sees (app.search.queries._mine). An OR of
    two ways in (`_WAYS`) is said as their UNION, each by its own index: PostgreSQL uses
    no index for an OR of IN-subqueries and reads the whole table (every item of the
    country) to keep a tribunal's few hundred."""
    ways = _WAYS.get(model)
    if ways is None:
        return scope(select(model.id), model, user)
    own_row, listed = ways(user)
    return union(select(model.id).where(own_row), listed)


def sees_id(model: type, user: Any, id_column: Any) -> Any:
    """Whether the user may see the object of `model` whose id is `id_column` (a column
    of another query's row), as a clause: EXISTS on the object by primary key with the
    policy's clause — for a model seen by either of two ways in (`_WAYS`), one EXISTS per
    way, each by its own index. PostgreSQL, asked the OR at once of a search window's
    1,000 documents, hashed every item and visit of the province first (25 ms; 6–10 ms
    this way)."""
    ways = _WAYS.get(model)
    if ways is None:
        return scope(select(model.id).where(model.id == id_column), model, user).exists()
    own_row, listed = ways(user)
    by_own_row = select(model.id).where(model.id == id_column, own_row).exists()
    return or_(by_own_row, listed.where(listed.selected_columns[0] == id_column).exists())


class _AnyUser:
    """Stands for a user in a clause that depends on the user's unit and id alone: both
    are bound parameters (`scope_params`). A clause that reads anything else of the user
    (his roles) fails here with AttributeError, so it cannot be kept by mistake."""

    __slots__ = ()
    unit_id = bindparam("scope_unit_id", type_=Integer)
    id = bindparam("scope_user_id", type_=Integer)
    is_authenticated = True


ANY_USER = _AnyUser()  # its unit_id / id: the bound parameters themselves, for a kept statement's own use


def scope_params(user: Any) -> dict[str, int]:
    """The values a `kept_scope` clause is run with."""
    return {"scope_unit_id": user.unit_id, "scope_user_id": user.id}


@functools.cache
def kept_scope(model: type) -> Any:
    """The same clause as `scope` (CLAUSES), for a model whose visibility follows the
    user's unit and id alone, with both as bound parameters: for statements built once
    per process (app.sqlutil.prebuilt) and run with `scope_params(user)`."""
    return CLAUSES[model](ANY_USER)


# ---------------------------------------------------------------- actions


def _role(user: Any, *roles: str) -> bool:
    return user.has_role(*roles)


def _admin_below_own(user: Any, obj: Any) -> bool:
    """Admins manage units strictly below their own (not their own root)."""
    return _role(user, "admin") and sees(user, obj) and obj.id != user.unit_id


# The accounts of the other two administrators are not the 系统管理员's to change or
# switch off (else he could silence the 审计员): the 安全管理员 withdraws the role first.
GUARDED_ROLES = ("secadmin", "auditor")


# 三员分立: an account that holds only the 安全管理员's or the 审计员's role does that job
# and nothing else — no items, visits, rankings or dashboards, on the pages or the API.
# The endpoints it may open (anything else is a 403 before the view runs):
SECURITY_ENDPOINTS = frozenset(
    {
        # every account: log in and out, its own password, second factor, tokens, notifications
        "auth.login",
        "auth.second_factor",
        "auth.logout",
        "auth.change_password",
        "auth.mfa_page",
        "auth.mfa_enrol",
        "auth.mfa_disable",
        "auth.tokens_page",
        "auth.token_revoke",
        "reminders.notification_list",
        "reminders.notification_read",
        "reminders.notification_read_all",
        "reminders.notification_preferences",
        "main.index",
        "main.healthz",
        "main.readyz",
        "static",
        "bootstrap.static",
        "api.token",
        "api.openapi",
        # the 安全管理员: accounts (to grant roles, reset passwords), locks, tokens, settings
        "org.users",
        "org.user_detail",
        "org.user_roles",
        "org.user_reset_password",
        "security.settings_page",
        "security.locks",
        "security.unlock",
        "security.token_list",
        "security.token_revoke",
        "security.mfa_list",
        "security.mfa_reset",
        # the 审计员: the audit log
        "audit.log",
        "audit.entry",
        "audit.export",
        "audit.verify",
    }
)


def security_only(user: Any) -> bool:
    """An account whose roles are all the 安全管理员's or the 审计员's."""
    roles = getattr(user, "roles", None) or set()
    return bool(roles) and roles <= set(GUARDED_ROLES)


def may_open(user: Any, endpoint: str | None) -> bool:
    """Whether the user may open this endpoint at all (before any per-object check)."""
    return not security_only(user) or endpoint in SECURITY_ENDPOINTS


def _sysadmin_of(user: Any, obj: Any) -> bool:
    """The 系统管理员 keeps this account's basic data."""
    return _role(user, "admin") and sees(user, obj) and not obj.has_role(*GUARDED_ROLES)


def _sysadmin_other_user(user: Any, obj: Any) -> bool:
    return _sysadmin_of(user, obj) and obj.id != user.id


def _secadmin_other_user(user: Any, obj: Any) -> bool:
    """The 安全管理员 acts on others' accounts, never on his own."""
    return _role(user, "secadmin") and sees(user, obj) and obj.id != user.id


def _receiver(user: Any, a: Assignment, *statuses: str, roles=RECEIVER_ROLES) -> bool:
    return user.unit_id == a.unit_id and _role(user, *roles) and (not statuses or a.status in statuses)


def _assigning_side(user: Any, a: Assignment, *statuses: str) -> bool:
    """Reviewers of an assignment: the assigning unit's assigners/coordinators (or
    those above it), and the high court's reviewers for items it assigned itself.
    A rectification is verified (销号) by its verifier, or by a leader above the
    unit that made the visit."""
    if statuses and a.status not in statuses:
        return False
    if a.task.kind == "rectification":
        return user.id == a.task.verifier_id or (
            _role(user, "leader")
            and a.assigned_by_unit_id in visible_unit_ids(user)
            and a.assigned_by_unit_id != user.unit_id
        )
    if _role(user, *REVIEWER_ROLES) and a.assigned_by_unit_id in visible_unit_ids(user):
        return True
    return _role(user, "reviewer") and a.assigned_by_unit_id == user.unit_id


def assigning_side_clause(user: Any):
    """SQL twin of `_assigning_side`: the assignments this user reviews (the query
    must join Task)."""
    clauses = []
    if _role(user, *REVIEWER_ROLES):
        clauses.append(Assignment.assigned_by_unit_id.in_(scope_unit_ids(user)))
    if _role(user, "reviewer"):
        clauses.append(Assignment.assigned_by_unit_id == user.unit_id)
    tasks = and_(Task.kind == "task", or_(*clauses)) if clauses else false()
    verifier = [Task.verifier_id == user.id]
    if _role(user, "leader"):
        verifier.append(
            and_(
                Assignment.assigned_by_unit_id.in_(scope_unit_ids(user)),
                Assignment.assigned_by_unit_id != user.unit_id,
            )
        )
    return or_(tasks, and_(Task.kind == "rectification", or_(*verifier)))


def receiver_clause(user: Any):
    """SQL twin of `_receiver`: the assignments this user works on."""
    if not _role(user, *RECEIVER_ROLES):
        return false()
    return Assignment.unit_id == user.unit_id


OPEN = ("pending", "in_progress", "submitted", "returned")
VISIT_ROLES = ("leader", "assigner", "reviewer")
CHECK_VERIFIER_ROLES = ("assigner", "reviewer", "leader", "coordinator")


def _is_urge_recipient(user: Any, notice: Any) -> bool:
    from app.reminders.models import UrgeReceipt

    return bool(
        db.session.scalar(
            select(UrgeReceipt.id).where(UrgeReceipt.notice_id == notice.id, UrgeReceipt.user_id == user.id)
        )
    )


def _visit_editor(user: Any, v: Visit) -> bool:
    """The organiser's assigners/reviewers, or one of the visit's own leaders."""
    if v.organizer_unit_id not in visible_unit_ids(user):
        return False
    return _role(user, "assigner", "reviewer") or any(lead.user_id == user.id for lead in v.leaders)


def _strictly_above(user: Any, unit_id: int) -> bool:
    return unit_id in visible_unit_ids(user) and unit_id != user.unit_id


def _entry_claimer(user: Any, e: ChecklistEntry) -> bool:
    c = db.session.get(Checklist, e.checklist_id)
    return c.is_current and user.unit_id == c.unit_id and _role(user, *RECEIVER_ROLES)


def _entry_verifier(user: Any, e: ChecklistEntry) -> bool:
    c = db.session.get(Checklist, e.checklist_id)
    return c.is_current and _role(user, *CHECK_VERIFIER_ROLES) and _strictly_above(user, c.unit_id)


RULES: dict[str, Callable[[Any, Any], bool]] = {
    # Route-level permissions (no object). "admin.access": the 系统管理员's pages.
    "admin.access": lambda u, o: _role(u, "admin"),
    "project.create": lambda u, o: _role(u, *ASSIGNER_ROLES, "admin"),
    "category.manage": lambda u, o: _role(u, "admin", "reviewer"),
    "import.tasks": lambda u, o: _role(u, *ASSIGNER_ROLES),
    # Units.
    "unit.view": lambda u, o: sees(u, o),
    "unit.add_child": lambda u, o: _role(u, "admin") and sees(u, o),
    "unit.edit": lambda u, o: _role(u, "admin") and sees(u, o),
    "unit.move": _admin_below_own,
    "unit.deactivate": _admin_below_own,
    "unit.assign_to": lambda u, o: sees(u, o) and o.id != u.unit_id and o.is_active,
    # Users.
    # 三员分立: the 系统管理员 keeps accounts' basic data (create, name, unit, contacts,
    # deactivate; a new account has no role); the 安全管理员 grants roles, resets
    # passwords, lifts locks and revokes tokens; the 审计员 only reads and exports the
    # audit log. Nobody acts on their own roles or password here, and no account holds
    # two of the three (app/org/services.py refuses it).
    "user.list": lambda u, o: _role(u, "admin", "secadmin"),
    "user.create": lambda u, o: _role(u, "admin"),
    "user.view": lambda u, o: _role(u, "admin", "secadmin") and sees(u, o),
    "user.edit": _sysadmin_of,
    "user.deactivate": _sysadmin_other_user,
    "user.grant_roles": _secadmin_other_user,
    "user.reset_password": _secadmin_other_user,
    "security.manage": lambda u, o: _role(u, "secadmin"),
    "token.revoke": lambda u, o: (
        o.user_id == u.id or (_role(u, "secadmin") and sees(u, db.session.get(User, o.user_id)))
    ),
    "audit.view": lambda u, o: _role(u, "auditor"),
    "audit.entry": lambda u, o: sees(u, o),  # only the 审计员 sees a row at all
    # Projects and items.
    "project.view": lambda u, o: sees(u, o),
    "project.edit": lambda u, o: (
        _role(u, *ASSIGNER_ROLES, "admin") and o.owner_unit_id in visible_unit_ids(u)
    ),
    "project.add_task": lambda u, o: _role(u, *ASSIGNER_ROLES) and sees(u, o),
    "task.view": lambda u, o: sees(u, o),
    "task.edit": lambda u, o: (
        o.kind == "task" and _role(u, *ASSIGNER_ROLES) and o.owner_unit_id in visible_unit_ids(u)
    ),
    "task.assign": lambda u, o: (
        o.kind == "task" and _role(u, *ASSIGNER_ROLES) and o.owner_unit_id in visible_unit_ids(u)
    ),
    # Links between items (issue 15: 依赖/相关): whoever may edit the item; the other
    # item must be visible to him (app/tasks/links.py).
    "task.link": lambda u, o: RULES["task.edit"](u, o),
    # Assignments: the status machine, per side.
    "assignment.view": lambda u, o: sees(u, o),
    "assignment.acknowledge": lambda u, o: _receiver(u, o, "pending"),
    "assignment.report": lambda u, o: _receiver(u, o, "pending", "in_progress", "returned"),
    "assignment.submit": lambda u, o: _receiver(u, o, "pending", "in_progress", "returned"),
    "assignment.steps": lambda u, o: _receiver(u, o, *OPEN) or _assigning_side(u, o, *OPEN),
    "assignment.request_extension": lambda u, o: _receiver(u, o, *OPEN),
    "assignment.split": lambda u, o: _receiver(
        u, o, "pending", "in_progress", "returned", roles=SPLITTER_ROLES
    ),
    "assignment.review": lambda u, o: _assigning_side(u, o, "submitted"),
    "assignment.decide_extension": lambda u, o: _assigning_side(u, o, *OPEN),
    "assignment.remind": lambda u, o: _assigning_side(u, o, *OPEN),
    "attachment.view": lambda u, o: sees(u, o),
    # Visits and rectifications.
    "visit.create": lambda u, o: _role(u, *VISIT_ROLES) and o.id in visible_unit_ids(u),
    "visit.view": lambda u, o: sees(u, o),
    "visit.edit": _visit_editor,
    "visit.add_finding": _visit_editor,
    "visit.coverage": lambda u, o: sees(u, o),
    "pairing.manage": lambda u, o: _role(u, "assigner", "reviewer", "admin") and _strictly_above(u, o.id),
    # Checklists.
    "template.manage": lambda u, o: _role(u, "admin", "reviewer"),
    "template.view": lambda u, o: True,
    "checklist.apply": lambda u, o: _role(u, "assigner", "reviewer") and _strictly_above(u, o.id),
    "checklist.view": lambda u, o: sees(u, o),
    "entry.claim": lambda u, o: _entry_claimer(u, o) and o.status in ("missing", "rejected", "claimed"),
    "entry.verify": lambda u, o: _entry_verifier(u, o) and o.status in ("claimed", "verified", "rejected"),
    # Reminders.
    "reminders.admin": lambda u, o: _role(u, "admin"),
    "unit.mute": lambda u, o: _role(u, "admin") and sees(u, o),
    "notification.view": lambda u, o: o.recipient_id == u.id,
    # Composing a 催办单 at all: the roles that may sit on an item's assigning side.
    "urge.compose": lambda u, o: _role(u, *REVIEWER_ROLES, "reviewer", "leader"),
    "urge.send": lambda u, o: _assigning_side(u, o, *OPEN),
    "urge.view": lambda u, o: o.sender_unit_id in visible_unit_ids(u) or _is_urge_recipient(u, o),
    "circular.manage": lambda u, o: _role(u, "reviewer"),
    # reading one: issued, or a draft for the reviewers of its court (`_SEES` decides who sees it at all)
    "circular.view": lambda u, o: o is None or o.status == "issued" or _role(u, "reviewer"),
    # Dashboards. Rankings are aggregate figures per court, published to every court
    # as the month-end circular is; the red list under them shows only what the
    # user may see. A wall display token is managed by the admins above its unit.
    "dashboard.view": lambda u, o: sees(u, o),
    "ranking.view": lambda u, o: True,
    "display.manage": lambda u, o: _role(u, "admin") and sees(u, o),
    # Completion lists.
    "completion.view": lambda u, o: sees(u, o),
    "completion.review": lambda u, o: _role(u, "reviewer") and sees(u, o) and o.id != u.unit_id,
    "import.view": lambda u, o: sees(u, o),
    # Background jobs: every user lists his own; only the owner sees, cancels or
    # downloads one (anyone else, colleague or not: 404).
    "job.list": lambda u, o: True,
    "job.view": lambda u, o: sees(u, o),
    "job.cancel": lambda u, o: sees(u, o),
}


class DisplayViewer:
    """Who a wall display (上墙) acts as: no roles, read-only, seeing its unit and
    everything below it — the same visibility rules as a person of that unit, and
    no action rule allows anything without a role."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, token_id: int, unit_id: int):
        self.id = -token_id  # never a user's id (the per-request cache is keyed on it)
        self.unit_id = unit_id

    def has_role(self, *roles: str) -> bool:
        return False


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May this user do this action (on this object)? Fails closed."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    rule = RULES.get(action)
    if rule is None:
        return False
    return bool(rule(user, obj))


def require(user: Any, action: str, obj: Any = None) -> None:
    """Abort: 404 when the object is hidden from the user, 403 when not allowed.
    Either way the denial is queued for the audit log (安全审计)."""
    if obj is not None and type(obj) in _SEES and not sees(user, obj):
        _record_denial(user, action, obj, 404)
        abort(404)
    if not can(user, action, obj):
        _record_denial(user, action, obj, 403)
        abort(403)


def get_scoped_or_404(model: type, object_id: int, action: str, user: Any) -> Any:
    """Load → check scope (404) → check action (403). An id that does not exist is
    a plain 404, not a denial: there was nothing to deny."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    require(user, action, obj)
    return obj


def _record_denial(user: Any, action: str, obj: Any, status: int) -> None:
    """Queued in the request; written after it (app/audit/hooks.py), even on error."""
    from app.audit.services import event

    if not has_request_context():  # abort() only means something in a request
        return
    event(
        "access.denied",
        result="denied",
        user=user,
        obj=obj,
        detail={"action": action, "status": status},
    )
