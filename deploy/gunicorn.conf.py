"""gunicorn settings for qiangji-web.service, from /etc/qiangji/qiangji.env:
WEB_BIND (127.0.0.1:8000), WEB_WORKERS (CPU + 1, at most 8), WEB_TIMEOUT (120 s).

Sync workers (gunicorn's default) behind nginx, which buffers slow clients. The app is
CPU-bound Python, so more workers than cores only take turns: on the 2-core benchmark
machine (wrk, 50 connections, the overdue list, SQLite) 2, 3 and 5 workers served 187,
183 and 158 requests/s; on PostgreSQL 97, 96 and 98. One more than the cores keeps a
slow request from holding every core's worker."""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS") or min(multiprocessing.cpu_count() + 1, 8))
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))  # a large export or import preview
graceful_timeout = 30
# No access log of gunicorn's own: the app writes one JSON line per request to the journal
# (app/requestlog.py: route pattern, status, duration, user, request id) and never a query
# string or a display's token path, both of which gunicorn's line would repeat. It also
# cost 13 % of the list's throughput (206 → 179 requests/s, 2 workers).
accesslog = None
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
# No cap of gunicorn's own on the request line (its default, 4,094 bytes, answers a long
# search with an English 414 page): nginx bounds it (large_client_header_buffers 32k) and
# the app answers an over-long parameter in Chinese.
limit_request_line = 0
