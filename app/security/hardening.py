"""Input hygiene and response headers for every request (等保: 入侵防范, 剩余信息保护).

- Ids in URLs fit the database: `<int:…>` accepts 1..2147483647 only (PostgreSQL's
  `integer`; SQLite would take more, but the same id must mean the same on both), so
  `/assignments/2147483648` is a plain 404, not a driver error.
- Integers read from the query string or a form with `.get(name, type=int)` fit the
  same range, otherwise they count as absent (the view's default applies).
- NUL is refused anywhere in the request (PostgreSQL cannot store it): a 400 with a
  Chinese message, before any view or login code runs.
- Every response carries the headers below; pages and downloads are never cached.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, request
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from werkzeug.routing import IntegerConverter, ValidationError
from werkzeug.utils import cached_property

from app.textclean import DB_INT_MAX, NUL, NUL_MESSAGE, db_int

# No inline script or style, nothing from another origin. `data:` images: Bootstrap's
# CSS draws its check marks, select arrows and toggler icon as data-URI SVGs.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# A PDF opened in the browser: Chromium's viewer is a plugin with inline styles of its
# own (crbug.com/271452), so it needs object-src and inline style — for that file only.
FILE_CSP = (
    "default-src 'none'; object-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
STATIC_ENDPOINTS = ("static", "bootstrap.static")


# ---------------------------------------------------------------- integers that fit


class _BoundedInts:
    """`.get(name, type=int)` and `.getlist(name, type=int)` only yield integers that fit."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        return super().get(key, default, db_int if type is int else type)

    def getlist(self, key, type=None):  # noqa: A002
        return super().getlist(key, db_int if type is int else type)


class BoundedMultiDict(_BoundedInts, ImmutableMultiDict):
    pass


class BoundedCombinedMultiDict(_BoundedInts, CombinedMultiDict):
    pass


class HardenedRequest(Request):
    parameter_storage_class = BoundedMultiDict

    @cached_property
    def values(self) -> CombinedMultiDict:
        combined = super().values
        return BoundedCombinedMultiDict(combined.dicts)


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>`: a database id, 1..2147483647 in ASCII digits; anything else does not match (404)."""

    regex = r"[0-9]+"  # werkzeug's \d+ also takes other scripts' digits ("１２" would be 12)

    def __init__(self, url_map, fixed_digits=0, min=1, max=DB_INT_MAX, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value) > 10:  # beyond 2147483647, and never int() of 5000 digits
            raise ValidationError()
        return super().to_python(value)


def register_converters(app: Flask) -> None:
    """Bounded ids for every `<int:…>` route (before the blueprints add theirs), and
    request data whose integers fit the database."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.request_class = HardenedRequest


# ---------------------------------------------------------------- NUL refused


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def request_holds_nul() -> bool:
    """NUL in the path, a query or form field (name or value), a file name, or a JSON string."""
    if NUL in request.path or _holds_nul(request.view_args or {}):
        return True
    for source in (request.args, request.form):
        # a multipart part whose name werkzeug cannot read has the name None
        if any(NUL in (k or "") or NUL in (v or "") for k, v in source.items(multi=True)):
            return True
    for name, storage in request.files.items(multi=True):
        if NUL in (name or "") or NUL in (storage.filename or ""):
            return True
    if request.is_json:
        try:
            return _holds_nul(request.get_json(silent=True))
        except RecursionError:  # nested deeper than Python walks: the API refuses it as bad JSON (400)
            return False
    return False


# ---------------------------------------------------------------- headers


def set_headers(app: Flask, response):
    headers = response.headers
    inline_pdf = response.mimetype == "application/pdf"
    headers["Content-Security-Policy"] = FILE_CSP if inline_pdf else CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate CSP 2
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if app.config.get("HSTS"):
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint not in STATIC_ENDPOINTS:
        # Pages, API answers and downloads hold court data: never kept by a browser or
        # proxy cache (剩余信息保护). Static assets keep their own caching.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
        headers.pop("Expires", None)
    return response


def register(app: Flask) -> None:
    """Request and response hooks: NUL refused first, headers on every response."""

    # Runs before every other hook: nothing with a NUL reaches login, a token lookup or a view.
    def refuse_nul():
        if request_holds_nul():
            from app.main.errors import render_error

            return render_error(400, NUL_MESSAGE)
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)

    @app.after_request
    def security_headers(response):
        return set_headers(app, response)
