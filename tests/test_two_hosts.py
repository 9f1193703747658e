"""Two hosts behind one PostgreSQL database: two gunicorn processes on two ports (as two
servers behind the court's proxy would be) and one upload directory they share.

A login on A is valid on B with the same cookie (sessions are rows in the database,
app/auth/sessions.py); an evidence file uploaded through A downloads through B; of two
`flask scheduler` processes exactly one holds the lock and runs the jobs both hosts
queue; a logout on A ends the session on B."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from app.attachments import Attachment
from app.background import lock
from app.extensions import reading
from app.timeutil import utcnow
from tests import factories, live_server
from tests.live_server import Browser, LiveServer, app_env, spawn, stop_all

PORTS = range(5401, 5421)  # the ports this test may use (free ones, first come)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _free_ports():
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        yield port


def _same_cookie(browser: Browser, base_url: str) -> Browser:
    """A browser on another host that sends the very cookies `browser` holds."""
    other = Browser(base_url)
    other.jar, other.opener = browser.jar, browser.opener
    return other


def _scheduler(database_url: str, tmp, name: str) -> tuple[subprocess.Popen, object]:
    log = tmp / f"scheduler-{name}.log"
    with open(log, "wb") as out:
        proc = spawn(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
            env=app_env(database_url, tmp, SWEEP_TIME="23:59", PYTHONUNBUFFERED="1"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, log


@pytest.fixture(autouse=True)
def _postgresql_only(backend):
    """Skipped before any set-up on SQLite."""
    if backend != "postgresql":
        pytest.skip(
            "两台主机只能共用一个网络数据库：SQLite 是单机文件，本测试只在 PostgreSQL 上运行"
            "（CI 设置 TEST_POSTGRES_URL）"
        )


def test_two_hosts_share_sessions_files_and_one_scheduler(app, db, tree, database_url, tmp_path, monkeypatch):
    """Login on A valid on B; evidence up through A, down through B; one scheduler of two
    runs B's job, seen done through A; logout on A ends the session on B."""
    factories.user("two_hosts", tree.base1, ["staff", "reviewer"])
    owner = factories.user("two_hosts_owner", tree.inter1, ["assigner"])
    task = factories.task(owner, factories.project(owner))
    (assignment,) = factories.assign(owner, task, tree.base1)
    db.session.commit()
    assignment_id = assignment.id
    db.session.rollback()  # hold no transaction while the servers work
    ports = _free_ports()
    monkeypatch.setattr(live_server, "free_port", lambda: next(ports))
    try:
        host_a = LiveServer(database_url, tmp_path, workers=2).start()
        host_b = LiveServer(database_url, tmp_path, workers=2).start()
        assert host_a.port != host_b.port and {host_a.port, host_b.port} <= set(PORTS)

        on_a = Browser(host_a.url)
        on_a.login("two_hosts", factories.PASSWORD)
        on_b = _same_cookie(on_a, host_b.url)
        status, _, location = on_b.get("/my")
        assert status == 200, location  # the session made on A is valid on B

        page = f"/assignments/{assignment_id}"
        form = on_a.hidden(page, f"{page}/report")
        status, body, _ = on_a.post(
            f"{page}/report",
            {**form, "text": "已完成选配", "percent": "60"},
            files={"files": ("佐证.pdf", PDF)},
        )
        assert status == 302, body[:500]
        with reading():
            att_id = db.session.scalar(select(Attachment.id).order_by(Attachment.id.desc()).limit(1))
            db.session.rollback()
        status, body, _ = on_b.get(f"/attachments/{att_id}")
        assert status == 200 and body == PDF.decode()  # the same bytes, from the shared directory

        first, first_log = _scheduler(database_url, tmp_path, "1")
        second, second_log = _scheduler(database_url, tmp_path, "2")
        deadline = time.monotonic() + 60
        while first.poll() is None and second.poll() is None:
            assert time.monotonic() < deadline, first_log.read_text() + second_log.read_text()
            time.sleep(0.1)
        loser, loser_log, winner, winner_log = (
            (first, first_log, second, second_log)
            if first.poll() is not None
            else (second, second_log, first, first_log)
        )
        assert loser.wait(timeout=30) == 1
        assert "另一个定时任务进程（qiangji-scheduler）正在运行" in loser_log.read_text()
        db.session.expire_all()
        held = lock.status(now=utcnow())
        db.session.rollback()
        assert held is not None and held.alive and held.holder.endswith(f":{winner.pid}")
        assert winner.poll() is None

        token = on_b.hidden("/circulars", "/circulars/draft")["csrf_token"]
        status, body, location = on_b.post("/circulars/draft", {"csrf_token": token})
        assert status == 302 and "/jobs/" in location, body[:500]
        job = re.search(r"/jobs/(\d+)", location).group(1)
        deadline = time.monotonic() + 60
        while True:
            status, body, _ = on_a.get(f"/jobs/{job}.json")
            assert status == 200, body[:500]
            state = json.loads(body)
            if state["finished"]:
                break
            assert time.monotonic() < deadline, winner_log.read_text()[-3000:]
            time.sleep(0.2)
        assert state["state"] == "done", state
        assert on_a.get(state["link_url"])[0] == 200  # the circular B asked for, opened on A

        status, _, _ = on_a.post("/logout", on_a.hidden("/my", "/logout"))
        assert status == 302
        status, _, location = on_b.get("/my")
        assert status == 302 and "/login" in location  # ended on B too
        host_a.stop()
        host_b.stop()
    finally:
        stop_all()
