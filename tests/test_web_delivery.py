"""Issue 13, light on a slow line: content-hashed static names with a year-long immutable
cache, gzip for assets and pages when (and only when) the browser accepts it, and
`flask assets build` for nginx's gzip_static."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from app.assets import IMMUTABLE
from app.security.hardening import CSP

APP_STATIC = Path(__file__).resolve().parents[1] / "app" / "static"
GZIP = {"Accept-Encoding": "gzip, deflate"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/(?:static|bootstrap/static)/[^"]+)"', html)


def test_pages_name_every_asset_by_its_content(client):
    """The login page's style sheets, scripts and icon all carry the file's hash."""
    html = client.get("/login").get_data(as_text=True)
    urls = _asset_urls(html)
    assert len(urls) >= 5, urls  # icon, bootstrap.css, app.css, bootstrap.js, popper, app.js
    for url in urls:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", url), url
    app_css = f"/static/css/app.{_digest(APP_STATIC / 'css' / 'app.css')}.css"
    assert app_css in urls


def test_a_changed_file_gets_a_new_name(app, tmp_path):
    """Edit a file: its URL changes; the old URL still answers (today's bytes, revalidated)."""
    static = tmp_path / "static"
    shutil.copytree(APP_STATIC, static)
    app.static_folder = str(static)
    client = app.test_client()
    with app.test_request_context():
        from flask import url_for

        before = url_for("static", filename="js/app.js")
        (static / "js" / "app.js").write_text("/* changed */ console.log(1);\n", encoding="utf-8")
        after = url_for("static", filename="js/app.js")
    assert before != after and after == f"/static/js/app.{_digest(static / 'js' / 'app.js')}.js"
    fresh = client.get(after)
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == IMMUTABLE
    assert b"changed" in fresh.data
    stale = client.get(before)
    assert stale.status_code == 200 and b"changed" in stale.data
    assert stale.headers["Cache-Control"] == "no-cache"  # never kept a year under the old name
    fresh.close()
    stale.close()


def test_hashed_assets_are_immutable_for_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    for url in _asset_urls(html):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Content-Security-Policy"] == CSP
        resp.close()
    plain = client.get("/static/js/app.js")
    assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
    plain.close()


def test_unknown_and_escaping_names_are_404(client):
    for url in (
        "/static/js/app.0123456789ab.js.missing",
        "/static/js/nothing.0123456789ab.js",
        "/static/../config.py",
        "/static/%2e%2e/config.py",
        "/bootstrap/static/../../__init__.py",
    ):
        assert client.get(url).status_code == 404, url


def test_assets_are_gzipped_only_for_a_browser_that_accepts_it(client):
    html = client.get("/login").get_data(as_text=True)
    css = next(u for u in _asset_urls(html) if "bootstrap.min." in u and u.endswith(".css"))
    import flask_bootstrap

    source = (Path(flask_bootstrap.__file__).parent / "static/bootstrap5/css/bootstrap.min.css").read_bytes()
    zipped = client.get(css, headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.data) == source
    assert len(zipped.data) < len(source) / 5  # 226 KiB → about 30 KB
    assert int(zipped.headers["Content-Length"]) == len(zipped.data)
    plain = client.get(css)
    assert "Content-Encoding" not in plain.headers and plain.data == source
    refused = client.get(css, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == source
    # A revalidation of the gzipped form answers 304 with no body.
    again = client.get(css, headers={**GZIP, "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    for resp in (zipped, plain, refused, again):
        resp.close()


def test_pages_and_json_are_gzipped_when_accepted(client, tree, login):
    from tests import factories

    login(factories.user("u_admin", tree.base1, ["admin"]))
    page = client.get("/admin/units", headers=GZIP)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in page.headers["Vary"]
    assert "单位管理" in gzip.decompress(page.data).decode("utf-8")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Content-Security-Policy"] == CSP
    plain = client.get("/admin/units")
    assert "Content-Encoding" not in plain.headers and "单位管理" in plain.get_data(as_text=True)
    assert "Accept-Encoding" in plain.headers["Vary"]
    api = client.get("/api/v1/units", headers=GZIP)
    assert api.status_code == 200 and api.headers["Content-Encoding"] == "gzip"
    assert isinstance(json.loads(gzip.decompress(api.data)), list)


def test_small_answers_stay_plain(client):
    """Below 500 bytes gzip costs more than it saves (the health check)."""
    resp = client.get("/healthz", headers=GZIP)
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers


def test_build_writes_hashed_files_with_gz_beside_them(app, tmp_path):
    out = tmp_path / "build"
    result = app.test_cli_runner().invoke(args=["assets", "build", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    digest = _digest(APP_STATIC / "css" / "app.css")
    assert manifest["/static/css/app.css"] == f"/static/css/app.{digest}.css"
    built = out / "static" / "css" / f"app.{digest}.css"
    assert built.read_bytes() == (APP_STATIC / "css" / "app.css").read_bytes()
    assert gzip.decompress((built.parent / (built.name + ".gz")).read_bytes()) == built.read_bytes()
    bs = manifest["/bootstrap/static/css/bootstrap.min.css"]
    assert (out / bs.lstrip("/")).is_file() and (out / (bs.lstrip("/") + ".gz")).is_file()
    assert not any("bootswatch" in k or k.endswith(".map") for k in manifest)
    # The same names the pages use.
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/app.css") == manifest["/static/css/app.css"]
        assert url_for("bootstrap.static", filename="css/bootstrap.min.css") == bs
    # Again, with --clean: fine; into a directory of something else: refused, exit 1.
    assert app.test_cli_runner().invoke(args=["assets", "build", str(out), "--clean"]).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x", encoding="utf-8")
    refused = app.test_cli_runner().invoke(args=["assets", "build", str(other), "--clean"])
    assert refused.exit_code == 1 and "拒绝写入" in refused.output
    assert (other / "keep.txt").is_file()


@pytest.mark.parametrize("name", ["static", "bootstrap.static"])
def test_the_nginx_snippet_matches_the_names(name):
    """deploy/nginx-static.conf's location regex takes the hashed names the app makes."""
    conf = (Path(__file__).resolve().parents[1] / "deploy" / "nginx-static.conf").read_text(encoding="utf-8")
    pattern = re.search(r'location ~ "([^"]+)" \{', conf)[1]  # quoted: nginx reads a bare {12} as a block
    url = {
        "static": "/static/css/app.0123456789ab.css",
        "bootstrap.static": "/bootstrap/static/js/bootstrap.min.0123456789ab.js",
    }[name]
    assert re.match(pattern, url)
    assert not re.match(pattern, "/static/css/app.css")
    assert "gzip_static on;" in conf and 'Cache-Control "public, max-age=31536000, immutable"' in conf
