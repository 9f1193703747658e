"""The authorization grid: every route × every role × the target's place in the tree.

The actor sits in a base court (base1). Targets: its own unit, a subordinate
tribunal (trib1), a sibling base court (base2) and its superior intermediate
court (inter1). Expected: "ok" (allowed: the request is processed), 403 (visible
but not allowed) or 404 (hidden). Adding a route without a row here fails
`test_every_route_has_a_row`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from app.extensions import db
from app.importing import ImportBatch
from app.org.models import ROLES
from app.timeutil import utcnow
from tests import factories

POSITIONS = ("own", "sub", "sibling", "superior")
ALL_ROLES = tuple(ROLES)
OK = "ok"


@dataclass
class Row:
    method: str
    path: Callable  # (ctx, position) -> url
    expect: Callable  # (role, position) -> "ok" | 403 | 404
    data: dict | None = None
    positional: bool = True  # False: the route has no target object


def anyone(role, pos):
    return OK


def admin_only(role, pos):
    return OK if role == "admin" else 403


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


def own_batch(role, pos):
    """Import batches: only the admin who uploaded one sees it."""
    if role != "admin":
        return 403
    return OK if pos == "own" else 404


def _unit(ctx, pos):
    return ctx.units[pos].id


def _user(ctx, pos):
    return ctx.targets[pos].id


def _batch(ctx, pos):
    return ctx.batches[pos].id


ROUTES: dict[str, Row] = {
    "main.index": Row("GET", lambda c, p: "/", anyone, positional=False),
    "main.healthz": Row("GET", lambda c, p: "/healthz", anyone, positional=False),
    "auth.login": Row("GET", lambda c, p: "/login", anyone, positional=False),
    "auth.logout": Row("POST", lambda c, p: "/logout", anyone, positional=False),
    "auth.change_password": Row("GET", lambda c, p: "/account/password", anyone, positional=False),
    "org.units": Row("GET", lambda c, p: "/admin/units", admin_only, positional=False),
    "org.users": Row("GET", lambda c, p: "/admin/users", admin_only, positional=False),
    "org.import_upload": Row("GET", lambda c, p: "/admin/import", admin_only, positional=False),
    "org.import_template": Row(
        "GET", lambda c, p: "/admin/import/template/units.csv", admin_only, positional=False
    ),
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
    "org.user_new": Row("GET", lambda c, p: "/admin/users/new", admin_only, positional=False),
    "org.user_edit": Row("GET", lambda c, p: f"/admin/users/{_user(c, p)}/edit", admin_in_subtree),
    "org.user_deactivate": Row(
        "POST", lambda c, p: f"/admin/users/{_user(c, p)}/deactivate", admin_in_subtree
    ),
    "org.user_activate": Row("POST", lambda c, p: f"/admin/users/{_user(c, p)}/activate", admin_in_subtree),
    "org.user_reset_password": Row(
        "GET", lambda c, p: f"/admin/users/{_user(c, p)}/reset-password", admin_in_subtree
    ),
    "org.import_preview": Row("GET", lambda c, p: f"/admin/import/{_batch(c, p)}", own_batch),
    "org.import_commit": Row("POST", lambda c, p: f"/admin/import/{_batch(c, p)}/commit", own_batch),
}

UNTESTED = {"static", "bootstrap.static"}  # files, no data behind them


def test_every_route_has_a_row(app):
    """A new route without a row in ROUTES fails here."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - UNTESTED
    missing = sorted(endpoints - set(ROUTES))
    stale = sorted(set(ROUTES) - endpoints)
    assert not missing, f"routes without a row in the authorization table: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"


def _context(tree, role):
    class Ctx:
        pass

    ctx = Ctx()
    ctx.units = {"own": tree.base1, "sub": tree.trib1, "sibling": tree.base2, "superior": tree.inter1}
    ctx.actor = factories.user(f"actor_{role}", tree.base1, [role])
    ctx.targets = {pos: factories.user(f"target_{pos}", u) for pos, u in ctx.units.items()}
    uploaders = {
        "own": ctx.actor,
        "sub": factories.user("admin_sub", tree.trib1, ["admin"]),
        "sibling": factories.user("admin_sib", tree.base2, ["admin"]),
        "superior": factories.user("admin_sup", tree.inter1, ["admin"]),
    }
    ctx.batches = {}
    for pos, uploader in uploaders.items():
        batch = ImportBatch(
            kind="units",
            filename="x.csv",
            created_by_id=uploader.id,
            unit_id=uploader.unit_id,
            created_at=utcnow(),
            rows=[],
        )
        db.session.add(batch)
        ctx.batches[pos] = batch
    db.session.commit()
    return ctx


def _outcome(resp) -> object:
    if resp.status_code in (403, 404):
        return resp.status_code
    location = resp.headers.get("Location", "")
    assert "/login" not in location or resp.request.path in ("/logout",), (
        f"unexpected redirect to login from {resp.request.path}"
    )
    assert resp.status_code in (200, 302, 400, 409), f"{resp.request.path} → {resp.status_code}"
    return OK


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_grid(app, client, tree, login, endpoint, role):
    """role × position → allowed / 403 / 404, for one route."""
    row = ROUTES[endpoint]
    ctx = _context(tree, role)
    positions = POSITIONS if row.positional else ("own",)
    failures = []
    for pos in positions:
        login(ctx.actor)
        url = row.path(ctx, pos)
        resp = client.open(url, method=row.method, data=row.data or {})
        got = _outcome(resp)
        want = row.expect(role, pos)
        if got != want:
            failures.append(f"{row.method} {url} as {role} on {pos}: got {got}, expected {want}")
        client.post("/logout")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_anonymous_is_sent_to_login(app, client, tree, endpoint):
    """Without a session every page but login and the health check asks to log in."""
    row = ROUTES[endpoint]
    ctx = _context(tree, "viewer")
    resp = client.open(row.path(ctx, "own"), method=row.method)
    if endpoint in ("auth.login", "main.healthz"):
        assert resp.status_code == 200
    else:
        assert resp.status_code == 302
        assert "/login" in resp.headers["Location"]
