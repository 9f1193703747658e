"""The nginx site example (deploy/nginx-qiangji.conf + nginx-static.conf) as a court would use
it: `nginx -t` accepts it, HTTP goes to HTTPS, the hashed static files come from disk
(gzipped, cached for a year, with the security headers) without reaching the app, anything
else is proxied with X-Request-ID and X-Forwarded-*, and an upload over the limit is refused
by nginx. Needs Debian's nginx: skipped without it, failed when REQUIRE_NGINX=1 (CI)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found or not shutil.which("openssl"):
        reason = "本机没有 nginx 或 openssl，无法测试 nginx 站点示例"
        if os.environ.get("REQUIRE_NGINX", "") == "1":
            pytest.fail(reason + "（REQUIRE_NGINX=1）")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Recorder:
    """WSGI middleware: which requests reached the app, with the headers nginx added."""

    def __init__(self, app):
        self.app, self.seen = app, []

    def __call__(self, environ, start_response):
        self.seen.append(
            {
                "path": environ["PATH_INFO"],
                "request_id": environ.get("HTTP_X_REQUEST_ID"),
                "proto": environ.get("HTTP_X_FORWARDED_PROTO"),
            }
        )
        return self.app(environ, start_response)


@pytest.fixture
def site(tmp_path):
    nginx = _nginx()
    from flask_migrate import upgrade

    db_path = tmp_path / "app.sqlite"
    app = create_app(
        "testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}", UPLOAD_DIR=str(tmp_path / "up")
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.session.remove()
    # the release as install.sh leaves it: deploy/ and the static build
    current = tmp_path / "current"
    (current / "deploy").mkdir(parents=True)
    static_conf = (ROOT / "deploy" / "nginx-static.conf").read_text(encoding="utf-8")
    assert "root /opt/qiangji/current/static-build;" in static_conf
    # install.sh writes the installation's prefix into both files (see test_bundle)
    static_conf = static_conf.replace("/opt/qiangji/current", str(current))
    (current / "deploy" / "nginx-static.conf").write_text(static_conf, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["assets", "build", str(current / "static-build"), "--clean"])
    assert result.exit_code == 0, result.output
    recorder = _Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-keyout", str(tmp_path / "qiangji.key"), "-out", str(tmp_path / "qiangji.crt")],
        check=True,
        capture_output=True,
    )
    http_port, https_port = _free_port(), _free_port()
    conf = (ROOT / "deploy" / "nginx-qiangji.conf").read_text(encoding="utf-8")
    for old, new in {
        "/opt/qiangji/current": str(current),
        "/etc/nginx/ssl": str(tmp_path),
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{server.server_port};",
        "/var/log/nginx/qiangji-access.log": str(tmp_path / "logs" / "qiangji-access.log"),
    }.items():
        assert old in conf, old  # the example still has what a court edits
        conf = conf.replace(old, new)
    (tmp_path / "site.conf").write_text(conf, encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"""
        user root;
        daemon off;
        worker_processes 1;
        pid {tmp_path}/nginx.pid;
        error_log {logs}/error.log;
        events {{ worker_connections 64; }}
        http {{
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log {logs}/access.log;
            client_body_temp_path {tmp_path}/body;
            proxy_temp_path {tmp_path}/proxy;
            include {tmp_path}/site.conf;
        }}
        """,
        encoding="utf-8",
    )
    test = subprocess.run([nginx, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True)
    assert test.returncode == 0, test.stderr
    proc = subprocess.Popen([nginx, "-c", str(main), "-p", str(tmp_path)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", https_port)) == 0:
                    break
            time.sleep(0.05)
        yield {
            "logs": logs,
            "http": f"http://127.0.0.1:{http_port}",
            "https": f"https://127.0.0.1:{https_port}",
            "seen": recorder.seen,
            "build": current / "static-build",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.shutdown()
        server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, headers: dict | None = None, data: bytes | None = None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), _NoRedirect())
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with opener.open(req, timeout=20) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_the_nginx_example_serves_static_files_and_proxies_the_rest(site):
    status, headers, _ = _get(site["http"] + "/login")
    assert status == 301 and headers["Location"].startswith("https://")

    # a hashed static file: from disk, gzipped, cached for a year, never reaching the app
    css = next((site["build"] / "static" / "css").glob("app.*.css"))
    url = site["https"] + "/static/css/" + css.name
    before = len(site["seen"])
    status, headers, body = _get(url, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == css.read_bytes()
    assert "immutable" in headers["Cache-Control"] and "max-age=31536000" in headers["Cache-Control"]
    assert (
        headers["X-Content-Type-Options"] == "nosniff"
        and "default-src 'self'" in headers["Content-Security-Policy"]
    )
    status, headers, body = _get(url)  # a client without gzip gets the plain bytes
    assert status == 200 and body == css.read_bytes() and "Content-Encoding" not in headers
    assert len(site["seen"]) == before, site["seen"][before:]

    # a hashed name that is not on disk (a page of the previous release) goes on to the app,
    # which answers with the file it has
    status, _, body = _get(site["https"] + "/static/css/app.000000000000.css")
    assert site["seen"][-1]["path"] == "/static/css/app.000000000000.css"
    assert status == 200 and body == css.read_bytes()

    # pages are proxied with the request id and the scheme
    status, headers, body = _get(site["https"] + "/login")
    assert status == 200 and "强基通" in body.decode()
    last = site["seen"][-1]
    assert last["path"] == "/login" and last["proto"] == "https" and len(last["request_id"] or "") == 32

    # an upload over the limit is refused by nginx, before the app
    before = len(site["seen"])
    status, _, _ = _get(
        site["https"] + "/login", {"Content-Type": "application/octet-stream"}, b"x" * (22 << 20)
    )
    assert status == 413 and len(site["seen"]) == before


def test_a_long_address_is_answered_in_chinese(site):
    """A 10,000-character search passes nginx to the app, which answers it in Chinese; an
    address past nginx's 32 KB buffers gets nginx's Chinese 414 page, never English."""
    before = len(site["seen"])
    status, headers, body = _get(site["https"] + "/api/v1/search?q=" + "a" * 10_000)
    assert len(site["seen"]) == before + 1 and site["seen"][-1]["path"] == "/api/v1/search"
    assert 400 <= status < 500 and "json" in headers["Content-Type"]
    assert json.loads(body)["error"]  # the app's Chinese message (here: 未登录)

    before = len(site["seen"])
    status, headers, body = _get(site["https"] + "/search?q=" + "a" * 40_000)
    text = body.decode("utf-8")
    assert status == 414 and "网址太长" in text and "Request" not in text
    assert "charset=utf-8" in headers["Content-Type"] and len(site["seen"]) == before


def test_the_access_log_holds_no_query_string_and_no_display_token(site):
    """nginx's log follows the app's rule: the path without its query string, a display's
    token never (it opens the wall without a login)."""
    _get(site["https"] + "/wall/tok-secret-5150?refresh=1")
    _get(site["https"] + "/assignments?q=query-secret-5150&status=open")
    _get(site["http"] + "/search?q=plain-secret-5150")
    time.sleep(0.2)  # nginx writes its log line after the response
    ours = (site["logs"] / "qiangji-access.log").read_text(encoding="utf-8")
    assert "/wall/<token>" in ours and "/assignments" in ours and "/search" in ours
    everything = ours + (site["logs"] / "access.log").read_text(encoding="utf-8")
    assert "secret-5150" not in everything
