"""Child processes of the benchmark and of the tests that start real servers: stop one
politely, then for sure; list a process's children (gunicorn's workers) from /proc."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path


def children(pid: int) -> list[int]:
    """The direct children of `pid` (a gunicorn master's workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def terminate(proc: subprocess.Popen | None, *, timeout: float = 30) -> None:
    """SIGTERM (gunicorn's master stops its workers), then SIGKILL to the process group
    if it has not stopped within `timeout` seconds. Started with start_new_session."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
