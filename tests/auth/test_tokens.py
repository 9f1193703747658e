"""API tokens: owners list and revoke theirs; the 安全管理员 revokes those of their
subtree; the last use is noted at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from app import authz
from app.api import tokens
from app.api.models import ApiToken
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows


def _bearer(value):
    return {"Authorization": f"Bearer {value}"}


def _row(db, value) -> ApiToken:
    db.session.expire_all()
    return tokens.row_for(value)


def test_owner_lists_their_tokens(app, db, client, login, tree, staff):
    live = tokens.issue(staff, now=utcnow(), label="报表同步")
    gone = tokens.issue(staff, now=utcnow(), label="旧脚本")
    tokens.revoke(tokens.row_for(gone), reason="owner", now=utcnow())
    other = factories.user("lisi", tree.trib1)
    tokens.issue(other, now=utcnow(), label="别人的令牌")
    db.session.commit()
    login(staff)
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "报表同步" in page and "旧脚本" in page and "别人的令牌" not in page
    assert "已撤销" in page and "本人撤销" in page and "从未使用" in page and "有效" in page
    row = tokens.row_for(live)
    assert f"/account/tokens/{row.id}/revoke" in page
    assert f"/account/tokens/{tokens.row_for(gone).id}/revoke" not in page  # nothing left to revoke


def test_owner_revokes_a_token_and_it_answers_401(app, db, client, login, staff):
    value = tokens.issue(staff, now=utcnow())
    db.session.commit()
    assert app.test_client().get("/api/v1/units", headers=_bearer(value)).status_code == 200
    login(staff)
    resp = client.post(f"/account/tokens/{_row(db, value).id}/revoke")
    assert resp.status_code == 302
    assert app.test_client().get("/api/v1/units", headers=_bearer(value)).status_code == 401
    row = _row(db, value)
    assert row.revoked_at is not None and row.revoked_reason == "owner"
    (event,) = audit_rows(db, "token.revoked")
    assert event.user_id == staff.id and event.object_id == str(row.id)


def test_someone_elses_token_is_404_to_an_owner(app, db, client, login, tree, staff):
    value = tokens.issue(factories.user("lisi", tree.trib1), now=utcnow())
    db.session.commit()
    login(staff)
    assert client.post(f"/account/tokens/{_row(db, value).id}/revoke").status_code == 404
    assert client.post("/account/tokens/999999/revoke").status_code == 404
    assert _row(db, value).revoked_at is None


def test_security_admin_revokes_tokens_in_their_subtree_only(app, db, client, login, tree, staff, secadmin):
    """inter1's 安全管理员 reaches a tribunal below it, not the other intermediate court."""
    inside = tokens.issue(staff, now=utcnow(), label="庭里的脚本")
    outside = tokens.issue(factories.user("far", tree.base3), now=utcnow(), label="乙市的脚本")
    db.session.commit()
    assert authz.can(secadmin, "token.revoke", tokens.row_for(inside))
    assert not authz.can(secadmin, "token.revoke", tokens.row_for(outside))
    login(secadmin)
    page = client.get("/admin/security/tokens").get_data(as_text=True)
    assert "庭里的脚本" in page and "乙市的脚本" not in page
    assert client.post(f"/admin/security/tokens/{_row(db, outside).id}/revoke").status_code == 404
    assert client.post(f"/admin/security/tokens/{_row(db, inside).id}/revoke").status_code == 302
    assert _row(db, inside).revoked_reason == "secadmin"
    assert _row(db, outside).revoked_at is None
    assert app.test_client().get("/api/v1/units", headers=_bearer(inside)).status_code == 401
    row_id = f'data-testid="token-{_row(db, inside).id}"'
    assert row_id not in client.get("/admin/security/tokens").get_data(as_text=True)  # live ones only
    assert row_id in client.get("/admin/security/tokens?all=1").get_data(as_text=True)
    assert audit_rows(db, "token.revoked")[-1].user_id == secadmin.id


def test_other_roles_cannot_reach_the_security_token_pages(app, db, client, login, tree, staff):
    value = tokens.issue(staff, now=utcnow())
    db.session.commit()
    login(factories.user("boss", tree.high, ["admin"]))
    assert client.get("/admin/security/tokens").status_code == 403
    assert client.post(f"/admin/security/tokens/{_row(db, value).id}/revoke").status_code == 403
    assert client.post(f"/account/tokens/{_row(db, value).id}/revoke").status_code == 404
    assert _row(db, value).revoked_at is None


def test_last_use_is_noted_at_most_once_a_minute(app, db, staff):
    value = tokens.issue(staff, now=utcnow())
    db.session.commit()
    t0 = utcnow().replace(microsecond=0)
    client = app.test_client()
    for seconds, expected in ((0, 0), (30, 0), (59, 0), (61, 61)):
        with time_machine.travel((t0 + timedelta(seconds=seconds)).isoformat() + "+00:00", tick=False):
            assert client.get("/api/v1/units", headers=_bearer(value)).status_code == 200
        assert _row(db, value).last_used_at == t0 + timedelta(seconds=expected)
    assert db.session.scalar(select(ApiToken.last_used_at)) == t0 + timedelta(seconds=61)
