"""WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi ...` for the CLI."""

import gc
import sys

from app import create_app

# Long-running processes (gunicorn's workers, the scheduler) freeze what the app made at
# start-up out of the garbage collector's view: a province's roll-up pages read tens of
# thousands of rows, and at every full collection Python walked the whole app again.
# Measured in-process over ten roll-up pages × 30: GC 4.1 s of 16.6 s → 0.85 s of 12.0 s,
# the dashboard after a change p95 279 → 142 ms, peak RSS unchanged (167 MB). Raising
# the thresholds as well cut GC further in-process but cost a gunicorn worker 20 MB of
# peak RSS (172 → 192 MB; the target is 200) for no gain the benchmark could see.
try:
    app = create_app()
except RuntimeError as exc:  # a refused configuration (default SECRET_KEY …): one line, exit 1
    print(f"强基通未启动：{exc}", file=sys.stderr)
    sys.exit(1)

gc.collect()
gc.freeze()
