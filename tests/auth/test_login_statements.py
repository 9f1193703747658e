"""A login's cost in SQL statements, and that the cheaper login still leaves every
record behind: the attempt (throttle), the server-side session, the last login time,
the journal line and the audit row with the person's unit and administrator mark."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.models import LoginAttempt, UserSession
from app.journal import JournalEntry
from app.org.models import User
from app.timeutil import utcnow
from tests import factories
from tests.auth.helpers import audit_rows, post_login

# Besides two BEGINs (the login's transaction and the audit row's): the throttle, the
# account with its unit and roles, the session, the attempt, the last login time, the
# journal line, the audit chain's last hash and the audit row (issue 11: ≤ 15).
LOGIN_STATEMENTS = 8
# PostgreSQL takes a transaction-scoped advisory lock before it appends to the audit
# log's hash chain (SQLite's single writer needs none): one statement more.
AUDIT_CHAIN_LOCK = {"sqlite": 0, "postgresql": 1}


def _noise(db, tree, n: int, start: int) -> None:
    """n more accounts with a session each, and failed attempts from other addresses."""
    for i in range(start, start + n):
        other = factories.user(f"noise_{i}", tree.trib2, ["staff", "viewer"])
        db.session.flush()
        db.session.add(
            UserSession(
                user_id=other.id,
                key_hash=f"{i:064d}",
                created_at=utcnow(),
                last_seen_at=utcnow(),
                ip="10.9.9.9",
            )
        )
        db.session.add(LoginAttempt(username=f"noise_{i}", ip=f"10.8.0.{i}", at=utcnow(), success=False))
    db.session.commit()


def test_login_statements_do_not_grow(app, db, tree, count_queries, backend):
    """A tribunal head with two roles logs in with the same statements among 1 or 20
    other accounts, sessions and failed attempts — and with one or four failures of his
    own before (failures add two statements, however many: the address's count and the
    throttle's settings)."""
    factories.user("ds_tz", tree.trib1, ["tribunal_head", "leader"])
    db.session.commit()
    _noise(db, tree, 1, 0)
    with count_queries() as few:
        assert post_login(app.test_client(), "ds_tz").status_code == 302
    _noise(db, tree, 20, 1)
    with count_queries() as many:
        assert post_login(app.test_client(), "ds_tz").status_code == 302
    assert len(many) == len(few) <= LOGIN_STATEMENTS + AUDIT_CHAIN_LOCK[backend], "\n\n".join(many)
    counts = []
    for failures in (1, 4):
        for _ in range(failures):
            assert post_login(app.test_client(), "ds_tz", "wrong-pass1").status_code == 401
        with count_queries() as after:
            assert post_login(app.test_client(), "ds_tz").status_code == 302
        counts.append(len(after))
    assert counts == [len(few) + 2] * 2, counts


def test_the_login_still_writes_every_record(app, db, tree):
    """An administrator logs in: the attempt, an open session, last_login_at, the
    journal line and the audit row naming his unit and marked admin; he is logged in."""
    boss = factories.user("boss", tree.high, ["admin"], display_name="系统管理员甲")
    db.session.commit()
    client = app.test_client()
    resp = post_login(client, "boss", ip="10.0.0.7")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    db.session.expire_all()
    (attempt,) = db.session.scalars(select(LoginAttempt).where(LoginAttempt.username == "boss")).all()
    assert attempt.success and attempt.ip == "10.0.0.7"
    (session_row,) = db.session.scalars(select(UserSession).where(UserSession.user_id == boss.id)).all()
    assert session_row.ended_at is None and session_row.ip == "10.0.0.7"
    user = db.session.get(User, boss.id)
    assert user.last_login_at is not None and utcnow() - user.last_login_at < timedelta(minutes=1)
    (line,) = db.session.scalars(select(JournalEntry).where(JournalEntry.action == "auth.login")).all()
    assert (line.actor_id, line.object_id, line.unit_id, line.after) == (
        boss.id,
        boss.id,
        tree.high.id,
        {"ip": "10.0.0.7"},
    )
    (row,) = audit_rows(db, "auth.login")
    assert (row.user_id, row.username, row.unit_id, row.unit_name, row.ip, row.result) == (
        boss.id,
        "boss",
        tree.high.id,
        tree.high.name,
        "10.0.0.7",
        "success",
    )
    assert row.detail == {"channel": "web", "second_factor": None, "admin": True}
    assert "系统管理员甲" in client.get("/admin/users").get_data(as_text=True)
