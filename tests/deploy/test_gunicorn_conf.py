"""The shipped gunicorn settings (deploy/gunicorn.conf.py), run for real: the only line a
request leaves in the log is the app's own JSON line — no query string, no display token
— and the number of workers follows the CPUs unless WEB_WORKERS says otherwise."""

from __future__ import annotations

import json
import multiprocessing
import runpy
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.live_server import ROOT, app_env, free_port, spawn, stop_all

CONF = ROOT / "deploy" / "gunicorn.conf.py"


def test_default_workers_follow_the_cpus(monkeypatch):
    monkeypatch.delenv("WEB_WORKERS", raising=False)
    assert runpy.run_path(str(CONF))["workers"] == min(multiprocessing.cpu_count() + 1, 8)
    monkeypatch.setenv("WEB_WORKERS", "6")
    assert runpy.run_path(str(CONF))["workers"] == 6


def test_a_request_leaves_the_apps_line_and_no_query_string(database_url, tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = app_env(database_url, tmp_path, SESSION_COOKIE_SECURE="0", REQUEST_LOG="1", WEB_WORKERS="1")
    env.update(
        APP_CONFIG="production", SECRET_KEY="deploy-conf-test-" + "k" * 32, WEB_BIND=f"127.0.0.1:{port}"
    )
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(CONF), "--no-control-socket", "wsgi:app"]
    try:
        with open(log, "ab") as out:
            proc = spawn(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        secret = "qs-secret-4711"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/login?next=/x&tag={secret}", timeout=2
                ) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 60 s")
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/wall/token-{secret}", timeout=5) as r:
            pass
    except urllib.error.HTTPError as exc:  # the unknown token: a 404 page, logged by the app
        assert exc.code == 404
    finally:
        stop_all()
    text = log.read_text(errors="replace")
    assert secret not in text
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    requests = [x for x in lines if x.get("logger") == "qiangji.request"]
    assert any(x.get("status") == 200 and x.get("method") == "GET" for x in requests), text[-2000:]
    assert any(x.get("status") == 404 for x in requests), text[-2000:]
