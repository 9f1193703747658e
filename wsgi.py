"""WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi ...` for the CLI."""

import gc
import sys

from app import create_app

# The collector's thresholds for a long-running process (gunicorn workers, the scheduler):
# at Python's default (700 allocations) a province's roll-up page — tens of thousands of
# rows read — set off ~15 collections a request and every ~25th request a full one that
# walked every object the app holds (40–90 ms: the dashboard after a change, p95 217 ms
# → 137 ms with these). What the app made at start-up is frozen out of the collector's
# view first. Reference counting still frees everything at once; only cycles wait longer
# (measured: the worker's peak RSS unchanged, 165 MB).
GC_THRESHOLDS = (20000, 50, 100)

try:
    app = create_app()
except RuntimeError as exc:  # a refused configuration (default SECRET_KEY …): one line, exit 1
    print(f"强基通未启动：{exc}", file=sys.stderr)
    sys.exit(1)

gc.collect()
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
