"""App factory, configuration and the health check."""

import pytest

from app import create_app


def test_production_refuses_default_secret_key(monkeypatch):
    """Production must not start with the built-in development key."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY="dev-secret-key-change-me")


def test_production_starts_with_a_real_key():
    app = create_app("production", SECRET_KEY="x" * 40, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_config_name_is_refused():
    with pytest.raises(RuntimeError, match="APP_CONFIG"):
        create_app("staging")


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": True}


def test_healthz_reports_a_dead_database(tmp_path):
    """A database that can't be opened answers 503, not 500."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["database"] is False


def test_pages_use_no_external_assets(client, tree, login):
    """Air-gapped: every stylesheet and script is served by the app itself."""
    from tests import factories

    login(factories.user("u_admin", tree.base1, ["admin"]))
    html = client.get("/").get_data(as_text=True)
    assert "/bootstrap/static/" in html
    assert "http://" not in html and "https://" not in html
    css = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert css.status_code == 200
    assert b"https://fonts" not in css.data
    css.close()


def test_postgresql_connections_run_without_jit_or_parallel_workers(app, db):
    """PostgreSQL's JIT compiled each search statement for 1.2 s (its planner cost is over
    jit_above_cost), and parallel workers started for a search page cost more than they
    shared: the app's connections turn both off at startup, in every transaction, also
    after a rollback, and price a page read out of order as on SSD (random_page_cost 1.1,
    so a kind's newest search matches are read by kind). SQLite connections get no such
    option."""
    from sqlalchemy import text

    if db.engine.dialect.name != "postgresql":
        assert "options" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("connect_args", {})
        return
    assert db.session.execute(text("SHOW jit")).scalar() == "off"
    assert db.session.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
    assert db.session.execute(text("SHOW random_page_cost")).scalar() == "1.1"
    db.session.rollback()
    with db.engine.connect() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
        assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
        assert conn.execute(text("SHOW random_page_cost")).scalar() == "1.1"


def test_served_processes_freeze_what_start_up_made(tmp_path):
    """`wsgi` (what gunicorn's workers and the scheduler import) freezes what start-up made
    out of the collector's view; the app factory alone (tests, scripts) does not."""
    import gc
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "APP_CONFIG": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gc.sqlite'}",
        "PYTHONPATH": str(root),
    }
    probe = "import gc, wsgi; print(gc.get_freeze_count())"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) > 10000, out.stdout[-500:]  # the app, its models, SQLAlchemy …
    frozen_here = gc.get_freeze_count()
    create_app("testing")
    assert gc.get_freeze_count() == frozen_here


# What only some requests or commands need, and a web worker would otherwise carry from
# its start (measured: 130 → 99 MB resident after `import wsgi`): XLSX and DOCX writers,
# the XLSX reader, the LDAP client, Alembic.
LOADED_AT_FIRST_USE = ("openpyxl", "xlsxwriter", "docx", "ldap3", "alembic", "flask_migrate", "lxml", "PIL")


def test_a_web_worker_loads_the_file_writers_ldap_and_alembic_only_when_used(tmp_path):
    """`wsgi` and the login page and health check leave them out; writing a workbook, a
    document, reading a DN or asking for the migrations (as `flask db` does) loads them."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "APP_CONFIG": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lazy.sqlite'}",
        "PYTHONPATH": str(root),
    }
    probe = f"""
import json, sys
from wsgi import app
heavy = {LOADED_AT_FIRST_USE!r}
def loaded():
    return sorted(m for m in heavy if m in sys.modules)
client = app.test_client()
codes = [client.get("/login").status_code, client.get("/healthz").status_code]
served = loaded()
with app.app_context():
    from app.exports.xlsx import Book, Column
    book = Book("t"); book.sheet("s", [Column("a")], [["1"]]); book.to_bytes()
    from app.exports.docx import Report
    Report().to_bytes()
    from app.auth.directory.settings import normalize_dn
    dn = normalize_dn("CN=A, OU=B")
    directory = app.extensions["migrate"].directory
print(json.dumps({{"codes": codes, "served": served, "used": loaded(), "dn": dn, "dir": directory}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.splitlines()[-1])
    assert got["codes"] == [200, 200]
    assert got["served"] == []
    assert {"xlsxwriter", "docx", "lxml", "ldap3", "alembic", "flask_migrate"} <= set(got["used"])
    assert got["dn"] == "cn=a,ou=b"
    assert got["dir"].endswith("migrations")
