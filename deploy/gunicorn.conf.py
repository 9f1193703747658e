"""gunicorn settings for qiangji-web.service, from /etc/qiangji/qiangji.env:
WEB_BIND (127.0.0.1:8000), WEB_WORKERS (2 × CPU + 1, at most 8), WEB_TIMEOUT (120 s)."""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS") or min(2 * multiprocessing.cpu_count() + 1, 8))
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))  # a large export or import preview
graceful_timeout = 30
accesslog = "-"  # the journal
errorlog = "-"
forwarded_allow_ips = "127.0.0.1"
# No cap of gunicorn's own on the request line (its default, 4,094 bytes, answers a long
# search with an English 414 page): nginx bounds it (large_client_header_buffers 32k) and
# the app answers an over-long parameter in Chinese.
limit_request_line = 0
