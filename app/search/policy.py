"""Search answers only what the policy lets the user see: each kind of document is kept
to the ids `authz.scope` gives for its model, in SQL. A finding is seen with its visit;
its SQL twin joins the policy here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import authz
from app.visits.models import Finding, Visit


def seen_with_its_visit(user: Any, visit_id: Any):
    """A finding is seen with its visit: the visit `visit_id` (a column of a search
    document) asked by primary key (`authz.sees_id`), not the list of every visible
    visit — at the top of a province that list is built for each statement (≈ 12 ms)."""
    return authz.sees_id(Visit, user, visit_id)


def findings_seen(user: Any):
    """The ids of the findings the user may see — those of the visits he may see — as a
    list (a narrow user's own documents, `app.search.queries._mine`), by the visits'
    index, not by asking each finding of the country."""
    return select(Finding.id).where(Finding.visit_id.in_(authz.visible_ids(Visit, user)))


def _finding_clause(user: Any):
    """The findings' clause of the policy (lists of findings): their visit asked by
    primary key with the visits' clause, as one EXISTS — the form the finding lists were
    measured with; search asks the same of a document's visit one EXISTS per way in
    (`seen_with_its_visit`, `authz.sees_id`), which tests/test_authz.py proves equal."""
    return authz.scope(select(Visit.id).where(Visit.id == Finding.visit_id), Visit, user).exists()


def register() -> None:
    authz.CLAUSES[Finding] = _finding_clause
