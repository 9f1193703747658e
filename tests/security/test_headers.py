"""Response headers (等保: 入侵防范, 剩余信息保护): a CSP with no inline script and no
outside source on every response, no framing, no caching of pages and downloads —
and templates that need nothing the CSP forbids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from app.attachments import Attachment
from app.extensions import db as _db
from app.security.hardening import CSP
from app.tasks.models import Assignment
from tests.security.conftest import upload

APP_DIR = Path(__file__).resolve().parents[2] / "app"


def _directives(csp: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in csp.split(";")) if part}


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere():
    """script-src and style-src are 'self' only; no source names another origin; no framing at all."""
    d = _directives(CSP)
    assert d["default-src"] == ["'self'"]
    assert d["script-src"] == ["'self'"] and d["style-src"] == ["'self'"]
    assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
    assert d["base-uri"] == ["'self'"] and d["form-action"] == ["'self'"]
    for sources in d.values():
        for source in sources:
            assert source in ("'self'", "'none'", "data:"), source
            assert "unsafe" not in source


def _assert_page_headers(resp, *, cached: bool = False) -> None:
    h = resp.headers
    assert h["Content-Security-Policy"] == CSP, resp.request.path
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in h  # only in production (config HSTS)
    if not cached:
        assert h["Cache-Control"] == "no-store", resp.request.path
        assert "public" not in h.get("Cache-Control", "") and "Expires" not in h


def test_every_kind_of_response_carries_the_headers(db, demo, as_user, client):
    """Login page, 404, pages, the wall, the API, a download, a NUL refusal."""
    _assert_page_headers(client.get("/login"))
    _assert_page_headers(client.get("/no-such-page"))
    _assert_page_headers(client.get(f"/wall/{demo.wall_token}"))
    _assert_page_headers(client.get("/api/v1/units"))  # 401 JSON
    c = as_user("lnfy")
    for url in ("/", "/assignments", "/rankings", "/checklists/matrix", "/api/v1/units"):
        resp = c.get(url)
        assert resp.status_code == 200, url
        _assert_page_headers(resp)
    resp = c.get("/completion.xlsx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    _assert_page_headers(resp)
    _assert_page_headers(c.get("/assignments?q=a%00b"))


def test_static_assets_keep_their_caching(db, client):
    """Style sheets and scripts are not pages: no no-store, still nosniff and the CSP."""
    resp = client.get("/static/js/app.js")
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    resp.close()


def test_evidence_files_are_not_cached(db, demo, as_user):
    """An evidence download used to be `Cache-Control: public, max-age=3600`."""
    c = as_user("hlft")
    a = db.session.scalar(
        select(Assignment).where(Assignment.unit_id == demo.user("hlft").unit_id).order_by(Assignment.id)
    )
    assert upload(c, a).status_code == 302
    att_id = db.session.scalar(select(Attachment.id).order_by(Attachment.id.desc()))
    resp = c.get(f"/attachments/{att_id}")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Expires" not in resp.headers
    assert resp.headers["Content-Security-Policy"] == CSP


def test_hsts_only_in_production(database_url, tmp_path):
    """HSTS follows the HSTS setting (True in ProductionConfig)."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=database_url, HSTS=True)
    resp = app.test_client().get("/login")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with app.app_context():
        _db.engine.dispose()


TEMPLATES = sorted(APP_DIR.rglob("templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"""(?:^|[\s"'{}])on[a-z]+\s*=""", re.I)
STYLE_ATTR = re.compile(r"""(?:^|[\s"'}])style\s*=""", re.I)
STYLE_TAG = re.compile(r"<style\b", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(APP_DIR)))
def test_templates_need_nothing_the_policy_forbids(path):
    """No inline <script>, on* handler, javascript: URL, <style> or style attribute in any template."""
    text = path.read_text(encoding="utf-8")
    for pattern, what in (
        (INLINE_SCRIPT, "inline <script>"),
        (HANDLER, "on* handler"),
        (JS_URL, "javascript: URL"),
        (STYLE_TAG, "<style>"),
        (STYLE_ATTR, "style attribute"),
    ):
        match = pattern.search(text)
        assert match is None, f"{what} at line {text[: match.start()].count(chr(10)) + 1}"
