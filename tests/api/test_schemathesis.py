"""schemathesis over every operation of /api/v1/openapi.json (WSGI, no network), as an
assigner and as a reviewer, on a small seeded tree: no server error; every answer's
status, content type, headers and body as the document says; invalid input refused;
and no input the document calls valid refused by the schemas themselves (a refusal by
a business rule — a deadline before the project starts — is an answer, not drift).

Reproducible (hypothesis `derandomize`) and short: MAX_EXAMPLES per operation and
phase; `SCHEMATHESIS_MAX_EXAMPLES=300 pytest tests/api/test_schemathesis.py` digs deeper."""

from __future__ import annotations

import contextvars
import os
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from app.api import core, tokens
from app.extensions import db
from app.timeutil import local_today, utcnow
from tests import factories

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
# The assigner (who may write nearly everything) gets every phase: the documented
# examples, the coverage phase (each boundary, each field missing, each wrong type,
# each length one past its limit …) and random fuzzing; the reviewer, whose difference
# is what the policy lets them see and do, gets the examples and the fuzzing. Of the
# methods an operation does not have, one is enough to see the 405.
CONFIGS = {
    "assigner": {"phases": {"coverage": {"unexpected-methods": ["PATCH"]}}},
    "reviewer": {"phases": {"coverage": {"enabled": False}}},
}
# Every built-in check but `positive_data_acceptance`, whose place is taken by the
# sharper `valid_input_is_not_refused_by_the_schemas` below (a 400 from a business rule
# on well-formed input is an answer; a 400 from the schemas on it would be drift), and
# the stateful ones (no links between operations are documented).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    ignored_auth,
]
CALLS: dict[str, int] = {}  # "role on backend" → requests sent (printed by tests/api/conftest.py)

# schemathesis 4.32's lazy schemas rename the pytest node per operation through
# `node._nodeid`, which pytest 9.2 no longer has: reading it gives the node id, and the
# renaming (cosmetic: subtests are still reported per operation) is skipped.
if not hasattr(pytest.Function, "_nodeid"):
    pytest.Function._nodeid = property(lambda self: self.nodeid, lambda self, value: None)


def _post(client, headers, url, **kw):
    resp = client.post(url, headers=headers, **kw)
    assert resp.status_code < 300, (url, resp.get_json())
    return resp.get_json()


@pytest.fixture
def seeded(client, tree):
    """The people, their bearer tokens, and one of everything, made through the API
    itself: a project with an item assigned to two units (one acknowledged and
    submitted) and an overdue one (the red list), a visit with a finding and its
    rectification, an applied checklist."""
    people = {
        "assigner": factories.user("st_assigner", tree.inter1, ["assigner"]),
        "reviewer": factories.user("st_reviewer", tree.high, ["reviewer"]),
        "leader": factories.user("st_leader", tree.inter1, ["leader"]),
        "head": factories.user("st_head", tree.trib1, ["tribunal_head"]),
    }
    factories.receivers(tree.base1, tree.base2)
    template = factories.checklist_template(family="st", name="测试标准")
    db.session.commit()
    h = {k: {"Authorization": f"Bearer {tokens.issue(u, now=utcnow())}"} for k, u in people.items()}
    db.session.commit()
    today = local_today()
    pid = _post(
        client,
        h["assigner"],
        "/api/v1/projects",
        json={
            "name": "强基",
            "owner_unit_id": tree.inter1.id,
            "start": f"{today.year - 1}-01-01",
            "end": f"{today.year}-12-31",
        },
    )["id"]
    _post(
        client,
        h["assigner"],
        "/api/v1/tasks",
        json={
            "project_id": pid,
            "title": "配齐法庭干警",
            "deadline": (today - timedelta(days=10)).isoformat(),
            "unit_ids": [tree.base2.id],
        },
    )
    task = _post(
        client,
        h["assigner"],
        "/api/v1/tasks",
        json={
            "project_id": pid,
            "title": "规范法庭标识",
            "deadline": (today + timedelta(days=20)).isoformat(),
            "unit_ids": [tree.base1.id, tree.trib1.id],
        },
    )
    mine = next(a for a in task["assignments"] if a["unit_id"] == tree.trib1.id)
    done = _post(
        client, h["head"], f"/api/v1/assignments/{mine['id']}/acknowledge", json={"version": mine["version"]}
    )
    _post(
        client,
        h["head"],
        f"/api/v1/assignments/{mine['id']}/progress",
        data={"text": "已完成", "submit": "1", "version": str(done["version"])},
    )
    visit = _post(
        client,
        h["leader"],
        "/api/v1/visits",
        json={
            "kind": "蹲点指导",
            "organizer_unit_id": tree.inter1.id,
            "target_unit_ids": [tree.trib1.id],
            "leader_ids": [people["leader"].id],
            "start": (today - timedelta(days=2)).isoformat(),
            "end": (today - timedelta(days=1)).isoformat(),
            "summary": "蹲点两天",
        },
    )
    _post(
        client,
        h["leader"],
        f"/api/v1/visits/{visit['id']}/findings",
        json={
            "unit_id": tree.trib1.id,
            "description": "窗口标识不清",
            "deadline": (today + timedelta(days=30)).isoformat(),
        },
    )
    _post(
        client,
        h["assigner"],
        "/api/v1/checklists",
        json={
            "template_id": template.id,
            "unit_ids": [tree.trib1.id],
            "due": (today + timedelta(days=60)).isoformat(),
        },
    )
    return people, h


@pytest.fixture(params=["assigner", "reviewer"])
def role(request):
    return request.param


@pytest.fixture
def api_schema(app, seeded, role):
    config = schemathesis.Config.from_dict(CONFIGS[role])
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


@pytest.fixture
def refusals(monkeypatch):
    """Every refusal by the schemas themselves (not by a business rule) in one call."""
    seen: list[str] = []
    original = core.ApiParser.handle_error

    def recording(self, error, req, schema, **kw):
        try:
            original(self, error, req, schema, **kw)
        except core.ApiError as exc:
            seen.append(exc.message)
            raise

    monkeypatch.setattr(core.ApiParser, "handle_error", recording)
    return seen


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_as_documented(case, app, seeded, role, backend, refusals):
    """0 server errors, 0 answers unlike the document, 0 valid inputs refused by the schemas."""
    people, headers = seeded
    h = headers[role]
    if case.method == "DELETE" and case.path == "/auth/token":  # it revokes the token it is sent with
        h = {"Authorization": f"Bearer {tokens.issue(people[role], now=utcnow())}"}
        db.session.commit()
    # The document describes the JSON, not the transport: ask for it uncompressed (gzip is
    # tested in tests/test_web_delivery.py); schemathesis' WSGI transport does not inflate.
    h = {**h, "Accept-Encoding": "identity"}
    refusals.clear()

    def valid_input_is_not_refused_by_the_schemas(ctx, response, case):
        meta = case.meta
        if meta is not None and meta.generation.mode.is_positive and refusals:
            raise AssertionError(f"the document calls this input valid, the schemas refused it: {refusals}")

    # Requests of their own (own app context, session and `g`), as in production; the
    # checks send some too (without the token, with a wrong one).
    response = contextvars.Context().run(case.call, headers=h)
    CALLS[f"{role} on {backend}"] = CALLS.get(f"{role} on {backend}", 0) + 1
    contextvars.Context().run(
        case.validate_response,
        response,
        checks=CHECKS,
        additional_checks=[valid_input_is_not_refused_by_the_schemas],
        headers=h,
    )
