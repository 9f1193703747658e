"""gzip for the app's own text answers (pages, JSON, CSV) when the browser accepts it.

A small after_request hook rather than Flask-Compress: gzip is all nginx's gzip_static
and every browser on the 专网 speak, and Flask-Compress 1.25 would bring two compiled
dependencies (brotli, backports.zstd) into the offline wheelhouse for encodings we do
not need. Streamed answers (large exports) and files are left alone; static files are
gzipped by app.assets.

BREACH (a compressed page that reflects attacker input next to a secret): the only
secret in our pages is the CSRF token, whose signed form changes every second
(itsdangerous timestamp), so it cannot be guessed byte by byte across requests.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

TEXT_TYPES = frozenset(
    {
        "text/html",
        "text/plain",
        "text/csv",
        "text/css",
        "text/javascript",
        "text/calendar",
        "application/json",
        "application/problem+json",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
    }
)
MIN_BYTES = 500  # below this the gzip header costs more than it saves
# zlib level 4: the province dashboard's 800 KB page in 4.7 ms and 60 KB, where level 6
# (zlib's default) took 9.6 ms for 55 KB; a 30 KB page is 5 % larger, never slower
LEVEL = 4


def compress(response: Response) -> Response:
    if (
        response.direct_passthrough
        or response.is_streamed
        or "Content-Encoding" in response.headers
        or response.mimetype not in TEXT_TYPES
        or request.method == "HEAD"
        or response.status_code < 200
        or response.status_code in (204, 206, 304)
    ):
        return response
    response.vary.add("Accept-Encoding")
    if not (request.accept_encodings["gzip"] > 0 or request.accept_encodings["*"] > 0):
        return response
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag:  # another representation, another tag
        response.set_etag(etag + "-gz", weak=weak)
    return response


def register(app: Flask) -> None:
    if not app.config.get("COMPRESS_RESPONSES", True):
        return
    # First in the list: Flask runs after_request hooks last-registered first, so this
    # one runs after every other hook has finished with the body.
    app.after_request_funcs.setdefault(None, []).insert(0, compress)
