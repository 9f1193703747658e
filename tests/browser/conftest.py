"""Browser fixtures: the real app on a live server, driven by headless Chromium.

`live_server` serves a migrated SQLite file loaded with the demo data (CSRF on,
as in production). `browser` launches the system Chromium — never a downloaded
one; CHROMIUM_PATH overrides /usr/bin/chromium. Without a usable Chromium the
browser tests are skipped with a one-line reason, unless REQUIRE_BROWSER=1, when
its absence fails. `new_page` opens a page in a fresh context that records
console errors, uncaught page errors, server errors (5xx) and every request that
leaves 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO_ROOT / "migrations"
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
HOST = "127.0.0.1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class _ErrorCollector(logging.Handler):
    """Keeps the app's ERROR log records (e.g. the traceback behind a 500)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(self.format(record))


def _read_whole_file(file: Any, buffer_size: int = 8192) -> list[bytes]:
    """A `wsgi.file_wrapper` that reads the file at once and closes it.

    Werkzeug's development server closes the response only after draining the
    socket, and a browser that hangs up at that moment (Chromium dropping a
    favicon request as it navigates on) raises ConnectionResetError there, so
    the static file's handle is never closed and its ResourceWarning fails
    whichever test is running. gunicorn, which production runs, has its own
    file wrapper; the test server's static files are small.
    """
    try:
        return [file.read()]
    finally:
        file.close()


def _files_read_whole(app: Any) -> Callable[[dict, Any], Any]:
    def wsgi(environ: dict, start_response: Any) -> Any:
        environ["wsgi.file_wrapper"] = _read_whole_file
        return app(environ, start_response)

    return wsgi


@dataclass
class LiveServer:
    url: str
    app: Any
    errors: list[str]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A fresh database and server per test module: modules never see each other's data."""
    from flask_migrate import upgrade

    from app.seed.demo import load_demo
    from app.timeutil import utcnow

    path = tmp_path_factory.mktemp("browser-db") / "live.sqlite"
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        WTF_CSRF_ENABLED=True,
        UPLOAD_DIR=str(path.parent / "uploads"),
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        load_demo(utcnow())
        db.session.commit()
        db.session.remove()

    collector = _ErrorCollector()
    app.logger.addHandler(collector)
    server = make_server(HOST, 0, _files_read_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://{HOST}:{server.server_port}", app=app, errors=collector.records)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.logger.removeHandler(collector)
        with app.app_context():
            db.engine.dispose()


def _unavailable(reason: str) -> None:
    """Skip — or fail when REQUIRE_BROWSER=1 — with a one-line reason."""
    reason = " ".join(reason.split())
    if os.environ.get("REQUIRE_BROWSER", "") == "1":
        pytest.fail(reason + "（REQUIRE_BROWSER=1）", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        _unavailable(f"Chromium 不可用：{executable} not found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"Chromium 不可用：playwright not installed ({exc})")
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - any launch failure means "no browser"
        pw.stop()
        first_line = (str(exc).strip().splitlines() or [""])[0]
        _unavailable(f"Chromium 不可用：{executable} failed to launch: {type(exc).__name__}: {first_line}")
    try:
        yield chromium
    finally:
        chromium.close()
        pw.stop()


@dataclass
class RecordedPage:
    """A page plus what it saw that a clean run must not see."""

    page: Any
    context: Any
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    # URLs whose 4xx the test asserts on purpose: Chromium logs "Failed to load
    # resource" for those, and that message alone is no fault.
    expected_error_urls: set[str] = field(default_factory=set)

    def goto_expecting(self, url: str, status: int):
        """Navigate to a page that must answer `status` (a 4xx); return the response."""
        self.expected_error_urls.add(urljoin(self.page.url, url))
        resp = self.page.goto(url)
        assert resp is not None, f"no response for {url}"
        assert resp.status == status, f"{url} answered {resp.status}, expected {status}"
        return resp

    def _on_console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        where = msg.location.get("url", "")
        if msg.text.startswith("Failed to load resource") and where in self.expected_error_urls:
            return
        self.console_errors.append(f"{msg.text} @ {where}")

    def assert_clean(self) -> None:
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.external_requests == [], f"requests leaving {HOST}: {self.external_requests}"
        assert self.server_errors == [], f"server errors: {self.server_errors}"


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return False  # inline, never on the network
    return parts.hostname != HOST


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., RecordedPage]]:
    """Factory: new_page(width, height, cookies=None) → RecordedPage in a fresh context."""
    contexts: list[Any] = []

    def _open(width: int = 1366, height: int = 768, cookies: list[dict] | None = None) -> RecordedPage:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            base_url=live_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        contexts.append(context)
        context.set_default_timeout(10_000)
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        rec = RecordedPage(page=page, context=context)
        page.on("console", rec._on_console)
        page.on("pageerror", lambda exc: rec.console_errors.append(f"pageerror: {exc}"))
        page.on(
            "request",
            lambda req: rec.external_requests.append(req.url) if _is_external(req.url) else None,
        )
        page.on(
            "response",
            lambda resp: (
                rec.server_errors.append(f"{resp.status} {resp.url}") if resp.status >= 500 else None
            ),
        )
        return rec

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, keep the browser tests in one worker: they share one live server."""
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="module")
def standard_templates(live_server) -> LiveServer:
    """The shipped standards (五化, 示范, 三年规划) published in the live server's database,
    once per session (idempotent: a family already there is left alone)."""
    from app.checklists.standards import load_standard_templates
    from app.timeutil import utcnow

    with live_server.app.app_context():
        load_standard_templates(utcnow())
        db.session.commit()
        db.session.remove()
    return live_server
