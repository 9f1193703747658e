"""Static files on a slow line (issue 13): content-hashed names, a year-long immutable
cache and gzip.

- Every `url_for('static', filename=…)` and `url_for('bootstrap.static', …)` (which is
  how base.html, the print pages and Bootstrap-Flask's `load_css()`/`load_js()` name
  their files) goes through one hook, `hashed_url_defaults`: `css/app.css` becomes
  `css/app.<12 hex of SHA-256>.css`. A changed file gets a new name, so the browser may
  keep the old one forever: `Cache-Control: public, max-age=31536000, immutable`, and
  a later page asks for nothing at all.
- The app serves those names itself (the two static endpoints are replaced by `serve`):
  the hash is checked against the file as it is now; a plain or an old name still
  answers, with `no-cache` (a page cached before an upgrade keeps working).
- Text assets go out gzipped when the browser accepts gzip, `Vary: Accept-Encoding`.
  The app compresses each file once on first request and keeps the bytes in memory
  (keyed by the file's size and mtime, so an edited file is compressed anew): no build
  step is needed for the app to be right, and nothing on disk can be stale.
- For nginx, `flask --app wsgi assets build DIR` writes the same hashed files with a
  `.gz` beside each (`gzip_static on;`, deploy/nginx-static.conf) and a manifest.json,
  laid out like the URLs (DIR/static/…, DIR/bootstrap/static/…). install.sh runs it after
  every install or upgrade; a file nginx does not find goes on to the app.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from flask import Flask, Response, abort, current_app, request, send_file
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
HASH_LEN = 12
HASHED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{" + str(HASH_LEN) + r"})(?P<ext>\.[A-Za-z0-9]+)$")
ENDPOINTS = ("static", "bootstrap.static")
# Text that gzip shrinks; images and fonts are compressed already.
COMPRESSIBLE = frozenset({".css", ".js", ".svg", ".json", ".txt", ".map", ".html", ".xml", ".ico"})
MIN_GZIP_BYTES = 256
# Bootstrap-Flask ships every Bootswatch theme (12 MB) and the sources: not served here.
BUILD_SKIP = re.compile(r"(^|/)(bootswatch|scss)/|\.(scss|map)$")


@dataclass(frozen=True)
class _Entry:
    key: tuple[int, int]  # (size, mtime_ns): the file as it was hashed
    digest: str
    gz: bytes | None = None


class AssetIndex:
    """Content hashes (and gzipped bytes) of the static files, computed on first use
    and kept while the file's size and mtime stay the same. Thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, path: str, *, with_gz: bool = False) -> _Entry:
        st = os.stat(path)
        key = (st.st_size, st.st_mtime_ns)
        found = self._entries.get(path)
        if found is not None and found.key == key and (found.gz is not None or not with_gz):
            return found
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:HASH_LEN]
        gz = gzip_bytes(data) if with_gz else None
        entry = _Entry(key=key, digest=digest, gz=gz)
        with self._lock:
            self._entries[path] = entry
        return entry

    def digest(self, path: str) -> str:
        return self._entry(path).digest

    def gzipped(self, path: str) -> bytes:
        return self._entry(path, with_gz=True).gz or b""


def gzip_bytes(data: bytes) -> bytes:
    """The same bytes every time (mtime 0), for the app and for `assets build` alike."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def hashed_name(filename: str, digest: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    if not dot or "/" in ext or not stem or stem.endswith("/"):
        return filename  # no extension: keep the plain name
    return f"{stem}.{digest}.{ext}"


def _folder(endpoint: str) -> str | None:
    app = current_app
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.partition(".")[0])
    return blueprint.static_folder if blueprint is not None else None


def _file(folder: str | None, filename: str) -> str | None:
    if not folder:
        return None
    path = safe_join(folder, filename)
    return path if path is not None and os.path.isfile(path) else None


def _index() -> AssetIndex:
    return current_app.extensions["qiangji_assets"]


def hashed_url_defaults(endpoint: str, values: dict) -> None:
    """url_defaults hook: the one place that names an asset in a page."""
    if endpoint not in ENDPOINTS or not current_app.config.get("ASSET_HASHING", True):
        return
    filename = values.get("filename")
    if not isinstance(filename, str):
        return
    path = _file(_folder(endpoint), filename)
    if path is not None:
        values["filename"] = hashed_name(filename, _index().digest(path))


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0 or request.accept_encodings["*"] > 0


def send_asset(path: str, *, immutable: bool) -> Response:
    """The file, gzipped when that helps and the browser takes it; conditional GET and
    ranges as Flask's own static view."""
    index = _index()
    digest = index.digest(path)
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    suffix = os.path.splitext(path)[1].lower()
    compressible = suffix in COMPRESSIBLE and os.path.getsize(path) >= MIN_GZIP_BYTES
    if compressible and _accepts_gzip():
        import io

        response = send_file(
            io.BytesIO(index.gzipped(path)),
            mimetype=mimetype,
            etag=f"{digest}-gz",
            last_modified=os.path.getmtime(path),
            conditional=True,
            max_age=None,
        )
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(path, mimetype=mimetype, etag=digest, conditional=True, max_age=None)
    if compressible:
        response.vary.add("Accept-Encoding")
    if immutable:
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = "no-cache"  # revalidate: the name says nothing
    return response


def serve(filename: str, endpoint: str = "static") -> Response:
    """The view behind /static/<filename> and /bootstrap/static/<filename>."""
    folder = _folder(endpoint)
    plain = _file(folder, filename)
    if plain is not None:
        return send_asset(plain, immutable=False)
    match = HASHED.match(filename)
    if match is None:
        abort(404)
    path = _file(folder, match["stem"] + match["ext"])
    if path is None:
        abort(404)
    # An old hash (a page from before an upgrade): today's file, not kept for a year.
    return send_asset(path, immutable=_index().digest(path) == match["hash"])


# ---------------------------------------------------------------- the build for nginx


def build_sources(app: Flask) -> Iterator[tuple[str, str, str]]:
    """(url prefix without slashes, folder, filename) of every file `assets build` writes."""
    with app.app_context():
        for endpoint in ENDPOINTS:
            folder = _folder(endpoint)
            if not folder or not os.path.isdir(folder):
                continue
            prefix = "static" if endpoint == "static" else "bootstrap/static"
            for root, _dirs, files in os.walk(folder):
                for name in sorted(files):
                    rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
                    if endpoint != "static" and BUILD_SKIP.search(rel):
                        continue
                    yield prefix, folder, rel


def build(app: Flask, out: Path) -> dict[str, str]:
    """Write DIR/<prefix>/<hashed name> (+ .gz for text) for every asset; returns the
    manifest {url of the plain name: url of the hashed name}, also written to manifest.json."""
    index = AssetIndex()
    manifest: dict[str, str] = {}
    for prefix, folder, rel in build_sources(app):
        source = os.path.join(folder, rel)
        name = hashed_name(rel, index.digest(source))
        target = out / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if os.path.splitext(rel)[1].lower() in COMPRESSIBLE and os.path.getsize(source) >= MIN_GZIP_BYTES:
            target.with_name(target.name + ".gz").write_bytes(index.gzipped(source))
        manifest[f"/{prefix}/{rel}"] = f"/{prefix}/{name}"
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
    )
    return manifest


# ---------------------------------------------------------------- wiring


def register(app: Flask) -> None:
    app.extensions["qiangji_assets"] = AssetIndex()
    app.url_defaults(hashed_url_defaults)
    if app.static_folder:
        app.view_functions["static"] = lambda filename: serve(filename, "static")
    if "bootstrap" in app.blueprints:
        app.view_functions["bootstrap.static"] = lambda filename: serve(filename, "bootstrap.static")

    @app.cli.group("assets")
    def assets() -> None:
        """静态文件：带内容哈希的文件名与 gzip 预压缩（供 nginx 使用）。"""

    @assets.command("build")
    @click.argument("out", type=click.Path(file_okay=False, path_type=Path))
    @click.option("--clean", is_flag=True, help="先清空目标目录（仅限以前由本命令写出的目录）。")
    def assets_build(out: Path, clean: bool) -> None:
        """把静态文件以带哈希的文件名写入 OUT，并在每个文本文件旁写出 .gz。"""
        if out.exists() and any(out.iterdir()):
            if not (out / "manifest.json").is_file():
                click.echo(f"目录 {out} 不是空目录，也不是以前由本命令写出的目录，拒绝写入。", err=True)
                sys.exit(1)
            if clean:
                shutil.rmtree(out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            manifest = build(app, out)
        except OSError as exc:
            click.echo(f"无法写入 {out}：{exc.strerror or exc}", err=True)
            sys.exit(1)
        click.echo(f"已写出 {len(manifest)} 个静态文件（带内容哈希的文件名及 .gz）到 {out}。")
