"""Issue 13, observability: /readyz (database, upload directory, scheduler heartbeat),
one JSON log line per request with a request id, and the 系统状态 page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app import create_app
from app.background.models import SchedulerLock
from app.timeutil import utcnow
from tests import factories


def _beat(db, seconds_ago: int) -> None:
    now = utcnow()
    db.session.add(
        SchedulerLock(
            name="scheduler",
            holder="court-srv:4242",
            started_at=now - timedelta(hours=1),
            heartbeat_at=now - timedelta(seconds=seconds_ago),
        )
    )
    db.session.commit()


def test_readyz_ok_when_everything_is(db, client):
    _beat(db, 5)
    resp = client.get("/readyz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["errors"] == []
    assert {k: v["ok"] for k, v in body["checks"].items()} == {
        "database": True,
        "upload_dir": True,
        "scheduler": True,
    }
    assert "court-srv" not in resp.get_data(as_text=True)  # no host names for anonymous callers
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_without_a_scheduler(db, client):
    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] and body["checks"]["upload_dir"]["ok"]
    assert body["errors"] == ["定时任务进程未运行：没有心跳记录"]


def test_readyz_with_a_stale_heartbeat(db, client):
    """Older than two heartbeats (2 × 20 s) is stale; 30 s is still fine."""
    _beat(db, 41)
    resp = client.get("/readyz")
    assert resp.status_code == 503
    (error,) = resp.get_json()["errors"]
    assert "心跳已过期" in error and "41 秒前" in error and "40 秒内" in error
    lock = db.session.get(SchedulerLock, "scheduler")
    lock.heartbeat_at = utcnow() - timedelta(seconds=30)
    db.session.commit()
    assert client.get("/readyz").status_code == 200


def test_readyz_with_an_unwritable_upload_dir(db, app, client, tmp_path):
    _beat(db, 1)
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    app.config["UPLOAD_DIR"] = str(blocker / "uploads")  # under a file: cannot exist
    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["errors"] == ["上传目录不存在或不可写"]
    assert str(tmp_path) not in resp.get_data(as_text=True)


def test_readyz_with_a_dead_database(tmp_path):
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir/x.db",
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["errors"] == ["数据库无法连接", "无法读取定时任务心跳（数据库不可用）"]
    assert body["checks"]["upload_dir"]["ok"] is True


def test_readyz_needs_no_login_and_is_open_to_every_role(db, tree, as_user, client):
    """Like /healthz: anonymous, and the 安全管理员 and 审计员 (三员分立) too."""
    _beat(db, 1)
    assert client.get("/readyz").status_code == 200
    for role in ("secadmin", "auditor", "staff"):
        user = factories.user(f"probe_{role}", tree.base1, [role])
        db.session.commit()
        assert as_user(user).get("/readyz").status_code == 200, role


# ---------------------------------------------------------------- the request log


@pytest.fixture
def logged_app(database_url, tmp_path):
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=database_url, UPLOAD_DIR=str(tmp_path / "u"), REQUEST_LOG=True
    )
    with app.app_context():
        yield app
        from app.extensions import db as _db

        _db.session.remove()
        _db.engine.dispose()


def _lines(capsys) -> list[dict]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_one_json_line_per_request(logged_app, tree, capsys):
    from app.extensions import db

    user = factories.user("logged_one", tree.base1, ["staff"])
    db.session.commit()
    client = logged_app.test_client()
    capsys.readouterr()
    resp = client.get("/login?next=/x&token=SECRET-TOKEN-123")
    (line,) = _lines(capsys)
    assert set(line) >= {
        "time", "level", "message", "request_id", "user_id", "method",
        "endpoint", "route", "status", "duration_ms",
    }  # fmt: skip
    assert line["method"] == "GET" and line["endpoint"] == "auth.login" and line["route"] == "/login"
    assert line["status"] == 200 and line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == resp.headers["X-Request-ID"] and len(line["request_id"]) == 32
    assert "SECRET-TOKEN-123" not in json.dumps(line)

    client.post("/login", data={"username": "logged_one", "password": factories.PASSWORD})
    capsys.readouterr()
    client.get("/my", headers={"X-Request-ID": "proxy-abc-12345678"})
    (line,) = _lines(capsys)
    assert line["user_id"] == user.id and line["route"] == "/my"
    assert line["request_id"] == "proxy-abc-12345678"


def test_the_log_names_the_route_not_a_token_in_the_path(logged_app, capsys):
    client = logged_app.test_client()
    capsys.readouterr()
    client.get("/wall/not-a-real-token-but-secret")
    client.get("/no/such/page?x=1")
    wall, missing = _lines(capsys)
    assert wall["route"] == "/wall/<token>" and "not-a-real-token" not in json.dumps(wall)
    assert missing["status"] == 404 and missing["route"] is None and missing["path"] == "/no/such/page"


def test_a_bad_request_id_from_outside_is_replaced(client):
    resp = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    rid = resp.headers["X-Request-ID"]
    assert rid != "bad id <script>" and len(rid) == 32


def test_tests_and_development_are_quiet(client, capsys):
    capsys.readouterr()
    client.get("/healthz")
    assert _lines(capsys) == []


def test_production_logs_requests_by_default(monkeypatch):
    monkeypatch.delenv("REQUEST_LOG", raising=False)
    import importlib

    import config

    importlib.reload(config)
    try:
        assert config.ProductionConfig.REQUEST_LOG is True
        assert config.TestingConfig.REQUEST_LOG is False
    finally:
        importlib.reload(config)


# ---------------------------------------------------------------- the 系统状态 page


def test_system_page_shows_heartbeat_and_backup(db, tree, as_user, monkeypatch):
    admin = factories.user("sys_admin", tree.base1, ["admin"])
    db.session.commit()
    c = as_user(admin)
    html = c.get("/admin/system").get_data(as_text=True)
    assert "未运行" in html and "尚无备份记录" in html

    _beat(db, 90)
    html = c.get("/admin/system").get_data(as_text=True)
    assert 'data-testid="heartbeat-stale"' in html and "90 秒前" in html and "court-srv:4242" in html

    import app.backup

    at = utcnow() - timedelta(hours=3)
    monkeypatch.setattr(
        app.backup,
        "last_backup",
        lambda: {"at": at, "path": "/var/backups/qiangji/qj-1.tar.gz", "size": 5 * 1048576, "ok": True},
    )
    html = c.get("/admin/system").get_data(as_text=True)
    assert "/var/backups/qiangji/qj-1.tar.gz" in html and "5.0 MB" in html and "成功" in html
    assert "/admin/system" in c.get("/admin/units").get_data(as_text=True)  # in the admin menu
