"""Issue 13, light on a slow line, in a real browser: a tribunal head's first visit to
今日工作 with an empty cache transfers at most 80 KB; every later page at most 15 KB,
and the browser asks the server for no asset it already has (hashed names, immutable).

Sizes are what Chromium received (Playwright's request.sizes(): body as sent, gzipped
or not, plus the response headers). The server side counts every request it answered,
so "no request for an unchanged asset" is what the server saw, not what the browser says."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "Demo@2026"
FIRST_VISIT_LIMIT = 80_000
LATER_PAGE_LIMIT = 15_000
LATER_PAGES = ("/today", "/my", "/assignments", "/notifications", "/completion", "/")
ASSET = re.compile(r"^/(static|bootstrap/static)/")


@pytest.fixture(scope="module")
def sized_server(standard_templates):
    """The live server with the demo's items, and a log of the paths it served."""
    from app.extensions import db
    from app.seed.demo import load_demo_checklists, load_demo_tasks, load_demo_visits
    from app.timeutil import utcnow

    server = standard_templates
    with server.app.app_context():
        now = utcnow()
        load_demo_tasks(now)
        load_demo_visits(now)
        load_demo_checklists(now)
        db.session.commit()
        db.session.remove()
    served: list[str] = []
    inner = server.app.wsgi_app

    def recording(environ, start_response):
        served.append(environ.get("PATH_INFO", ""))
        return inner(environ, start_response)

    server.app.wsgi_app = recording
    server.served = served
    yield server
    server.app.wsgi_app = inner


def _login_without_a_page(rec, username: str) -> None:
    """Log in through the context's request API (shares the cookies): the page's cache stays empty."""
    api = rec.context.request
    html = api.get("/login").text()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1]
    resp = api.post(
        "/login",
        form={"csrf_token": token, "username": username, "password": DEMO_PASSWORD},
        max_redirects=0,
    )
    assert resp.status == 302, resp.text()[:300]


def _measure(rec, action: Callable[[], object]) -> list[tuple[str, int, int]]:
    """(url, body bytes, header bytes) of every response the page received during `action`."""
    seen: list = []

    def finished(request) -> None:
        seen.append(request)

    rec.page.on("requestfinished", finished)
    try:
        action()
        rec.page.wait_for_load_state("load")
        rec.page.wait_for_load_state("networkidle")
    finally:
        rec.page.remove_listener("requestfinished", finished)
    rows = []
    for request in seen:
        sizes = request.sizes()
        rows.append((request.url, sizes["responseBodySize"], sizes["responseHeadersSize"]))
    return rows


def _total(rows) -> int:
    return sum(body + headers for _url, body, headers in rows)


def test_a_tribunal_head_on_a_slow_line(sized_server, new_page, capsys):
    rec = new_page(390, 844)  # a phone
    _login_without_a_page(rec, "hlft")
    sized_server.served.clear()

    first = _measure(rec, lambda: rec.page.goto("/today"))
    assert rec.page.get_by_test_id("work-count").is_visible()
    first_total = _total(first)
    report = [f"first /today: {first_total / 1000:.1f} KB in {len(first)} responses"]
    report += [f"  {body / 1000:6.1f} KB + {hdr} B headers  {url}" for url, body, hdr in first]
    assert first_total <= FIRST_VISIT_LIMIT, "\n".join(report)
    assert len(first) >= 5, "\n".join(report)  # the page and its assets were measured
    assert any("/bootstrap/static/css/bootstrap.min." in url for url, *_ in first)
    # Everything text arrived gzipped: Bootstrap's 226 KiB style sheet in about 31 KB.
    css = next(body for url, body, _ in first if "bootstrap.min." in url and url.endswith(".css"))
    assert css < 40_000, css

    have = {p for p in sized_server.served if ASSET.match(p)}
    for url in LATER_PAGES:
        sized_server.served.clear()
        rows = _measure(rec, lambda url=url: rec.page.goto(url))
        total = _total(rows)
        report.append(f"later {url}: {total / 1000:.1f} KB in {len(rows)} responses")
        asked = [p for p in sized_server.served if ASSET.match(p)]
        again = [p for p in asked if p in have]
        assert again == [], f"{url}: the browser asked again for {again}"
        have.update(asked)  # a script only this page uses comes once
        assert total <= LATER_PAGE_LIMIT, "\n".join(report + [f"  {r}" for r in rows])
    with capsys.disabled():
        print("\n" + "\n".join(report))
    rec.assert_clean()
