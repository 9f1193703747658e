"""Who may do what with indicators and assessments — registered into the one policy
(app/authz.py) at start-up, so this domain's rules and their SQL twins read in one room.

- The catalogue is public to every user; the high court's reviewers edit it.
- A court's values: seen by its subtree's users and those above; entered by the
  reviewers, assigners and coordinators of the court or of a court above it.
- The ranking (达标率, score per court) is published to every court, like the task
  rankings; the figures behind it stay within the subtree.
- An assessment: a draft for the reviewers and leaders of the assessing court's subtree;
  once published, also for every court below it (as circulars reach their courts).
- Meetings: recorded by the assessing court's reviewers, assigners and leaders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_

from app import authz
from app.extensions import db
from app.indicators.models import Assessment, IndicatorWarning, Meeting

ENTER_ROLES = ("reviewer", "assigner", "coordinator")
DRAFT_ROLES = ("reviewer", "leader")
MEETING_ROLES = ("reviewer", "assigner", "leader")


def _assessment_clause(user: Any):
    below = authz.scope_unit_ids(user)
    above = authz.ancestor_unit_ids(user)
    published = and_(
        Assessment.status == "published", or_(Assessment.unit_id.in_(below), Assessment.unit_id.in_(above))
    )
    if not user.has_role(*DRAFT_ROLES):
        return published
    return or_(published, Assessment.unit_id.in_(below))


def _sees_assessment(user: Any, a: Assessment) -> bool:
    if a.status == "published" and (a.unit_id in authz.ancestor_ids(user)):
        return True
    if a.unit_id not in authz.visible_unit_ids(user):
        return False
    return a.status == "published" or user.has_role(*DRAFT_ROLES)


def _assessment_manager(user: Any, a: Any) -> bool:
    unit_id = a.unit_id if isinstance(a, Assessment) else getattr(a, "id", None)
    return user.has_role("reviewer") and unit_id in authz.visible_unit_ids(user)


def register() -> None:
    authz.CLAUSES[Assessment] = _assessment_clause
    authz.CLAUSES[IndicatorWarning] = lambda u: IndicatorWarning.unit_id.in_(authz.scope_unit_ids(u))
    authz._SEES[Assessment] = _sees_assessment
    authz._SEES[Meeting] = lambda u, o: authz.sees(u, db.session.get(Assessment, o.assessment_id))
    authz._SEES[IndicatorWarning] = lambda u, o: o.unit_id in authz.visible_unit_ids(u)
    authz.RULES.update(
        {
            "indicator.catalogue": lambda u, o: True,
            "indicator.manage": lambda u, o: u.has_role("reviewer"),
            "indicator.view": lambda u, o: authz.sees(u, o),  # o: the unit whose figures
            "indicator.enter": lambda u, o: u.has_role(*ENTER_ROLES) and authz.sees(u, o),
            "indicator.ranking": lambda u, o: True,
            "assessment.list": lambda u, o: True,
            "assessment.create": lambda u, o: _assessment_manager(u, o),  # o: the assessing unit
            "assessment.view": lambda u, o: authz.sees(u, o),
            "assessment.manage": lambda u, o: _assessment_manager(u, o) and o.status != "published",
            "assessment.recompute": lambda u, o: _assessment_manager(u, o),
            "meeting.manage": lambda u, o: (
                u.has_role(*MEETING_ROLES) and o.unit_id in authz.visible_unit_ids(u)
            ),  # o: the assessment
        }
    )
