"""X-SQL-Count / X-SQL-Time-Ms for the benchmark: present only when configured, and
counting exactly the statements the request ran (issue 11)."""

from __future__ import annotations

from sqlalchemy import event

from app import create_app
from app.extensions import db as _db
from tests import factories


def test_headers_only_when_configured_and_exact(app, db, tree, login, client, backend):
    login(factories.user("boss", tree.high, ["admin"]))
    db.session.commit()
    assert "X-SQL-Count" not in client.get("/admin/units").headers  # off by default

    profiled = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"], SQL_PROFILE_HEADERS=True
    )
    seen: list[str] = []
    with profiled.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    c = profiled.test_client()
    assert c.post("/login", data={"username": "boss", "password": factories.PASSWORD}).status_code == 302
    seen.clear()
    resp = c.get("/admin/units")
    assert resp.status_code == 200
    queries = [s for s in seen if s.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT")]
    if backend == "sqlite":  # (PostgreSQL's driver begins without a statement)
        assert len(queries) < len(seen)  # the transaction's BEGIN is not counted …
    assert int(resp.headers["X-SQL-Count"]) == len(queries) >= 3  # … every query is
    assert float(resp.headers["X-SQL-Time-Ms"]) > 0
    with profiled.app_context():
        if backend == "sqlite":  # SQLite computes rows as they are fetched: that is timed too
            from app.sqlprofile import _TimedCursor

            assert isinstance(_db.engine.raw_connection().cursor(), _TimedCursor)
        _db.engine.dispose()
