"""Real processes for the tests that need them: gunicorn with several workers on a free
port of 127.0.0.1 against a migrated database, the reminder CLI, and a small browser
(urllib with its own cookies, no redirects followed) that logs in and posts forms."""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from bench.procs import children
from tests.pages import Forms

ROOT = Path(__file__).resolve().parent.parent
SECRET = "live-server-tests"


STARTED: list[subprocess.Popen] = []  # every process started here, for stop_all()


def _die_with_parent() -> None:
    """In the child, before exec: die with the test process (Linux PR_SET_PDEATHSIG), so
    a test run that is itself killed leaves no server behind."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def spawn(cmd: list[str], **kwargs) -> subprocess.Popen:
    """Start a process in its own process group (kill -9 reaches all of it), remembered."""
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
    STARTED.append(proc)
    return proc


def stop_all() -> None:
    """Kill whatever a test started and did not stop (a failed assertion midway)."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(database_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a production-like process (CSRF on, scrypt) on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(
        APP_CONFIG="development",
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET,
        UPLOAD_DIR=str(tmp / "uploads"),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


class LiveServer:
    """`gunicorn -w N wsgi:app` in its own process group (so kill -9 reaches master and workers)."""

    def __init__(self, database_url: str, tmp: Path, *, workers: int = 4, timeout: int = 120):
        self.database_url, self.tmp, self.workers, self.timeout = database_url, tmp, workers, timeout
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log = tmp / f"gunicorn-{uuid.uuid4().hex[:6]}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            str(self.timeout),
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ]
        with open(self.log, "ab") as log:
            self.proc = spawn(
                cmd, env=app_env(self.database_url, self.tmp), stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        self.kill9()
        raise RuntimeError("gunicorn did not answer within 60 s")

    def worker_pids(self) -> list[int]:
        """The master's children (the workers), from /proc."""
        return [] if self.proc is None else children(self.proc.pid)

    def kill9(self) -> list[int]:
        """SIGKILL to the server's own process group: master and every worker at once.
        Returns the pids killed, once none of them runs any more."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        pids = [self.proc.pid, *self.worker_pids()]
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_running(pid) for pid in pids):
            assert time.monotonic() < deadline, f"still running after kill -9: {pids}"
            time.sleep(0.05)
        return pids

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill9()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person at one browser: their own cookies; answers are (status, body, location)."""

    def __init__(self, base_url: str, timeout: float = 60):
        self.base, self.timeout = base_url, timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        req = urllib.request.Request(self.base + path, data=body, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            with self.opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace"), resp.headers.get("Location")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace"), exc.headers.get("Location")

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict | list, files: dict[str, tuple[str, bytes]] | None = None):
        if files:
            body, ctype = _multipart(data, files)
        else:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            ctype = "application/x-www-form-urlencoded"
        return self.request("POST", path, body, ctype)

    def hidden(self, page: str, action: str | None = None) -> dict[str, str]:
        """The hidden fields (csrf_token, version, loaded_at …) of the form posting to `action`."""
        status, html, _ = self.get(page)
        assert status == 200, (page, status, html[:500])
        parser = Forms(page)
        parser.feed(html)
        return parser.forms[action or page]

    def login(self, username: str, password: str) -> None:
        token = self.hidden("/login").get("csrf_token", "")
        status, body, location = self.post(
            "/login", {"username": username, "password": password, "csrf_token": token}
        )
        assert status == 302 and "/login" not in (location or ""), (status, location, body[:500])


def _multipart(data: dict | list, files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    items = data.items() if isinstance(data, dict) else data
    parts = []
    for name, value in items:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
