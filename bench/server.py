"""gunicorn on loopback as production runs it (gthread workers), the scheduler beside it
when a job needs one, and their memory read from /proc."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.database import ROOT
from bench.procs import children, terminate


def _die_with_parent() -> None:
    """In the child: die with the runner (PR_SET_PDEATHSIG), so a killed run leaves no server."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def app_env(url: str, work_dir: Path, secret: str) -> dict[str, str]:
    """Production settings, with what a loopback benchmark needs: a secret key, cookies
    over plain HTTP, the SQL headers, uploads in the work directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "FLASK_"))}
    env.update(
        APP_CONFIG="production",
        SECRET_KEY=secret,
        SESSION_COOKIE_SECURE="0",  # loopback HTTP: a Secure cookie would never come back
        SQL_PROFILE_HEADERS="1",
        DATABASE_URL=url,
        UPLOAD_DIR=str(work_dir / "uploads"),
        PYTHONPATH=str(ROOT),
    )
    return env


def new_secret() -> str:
    return "bench-" + secrets.token_hex(16)


DEPLOYED_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def deployed_workers(env: dict[str, str]) -> int:
    """How many workers the shipped settings start under `env` (WEB_WORKERS or CPU + 1)."""
    import runpy

    saved = os.environ.get("WEB_WORKERS")
    try:
        if env.get("WEB_WORKERS"):
            os.environ["WEB_WORKERS"] = env["WEB_WORKERS"]
        else:
            os.environ.pop("WEB_WORKERS", None)
        return int(runpy.run_path(str(DEPLOYED_CONF))["workers"])
    finally:
        if saved is None:
            os.environ.pop("WEB_WORKERS", None)
        else:
            os.environ["WEB_WORKERS"] = saved


class Server:
    """`gunicorn --worker-class gthread -w W --threads T` on 127.0.0.1:port — or, with
    `deployed`, gunicorn as qiangji-web.service starts it (deploy/gunicorn.conf.py: sync
    workers, as many as it decides), bound to the port."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        work_dir: Path,
        *,
        workers: int = 1,
        threads: int = 5,
        deployed: bool = False,
    ):
        self.env, self.port, self.workers, self.threads = env, port, workers, threads
        self.deployed = deployed
        if deployed:
            self.env = {**env, "WEB_BIND": f"127.0.0.1:{port}"}
            self.workers = deployed_workers(self.env)
        self.log = work_dir / f"gunicorn-{port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        if self.deployed:
            cmd = [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                str(DEPLOYED_CONF),
                "--no-control-socket",
                "wsgi:app",
            ]
        else:
            cmd = self._command()
        return self._run(cmd)

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "gthread",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "300",  # long pages are measured, not killed (a page past 30 s is flagged in the table)
            "--graceful-timeout",
            "10",
            "--no-control-socket",  # its default path is shared by every gunicorn of this user
            "wsgi:app",
        ]

    def _run(self, cmd: list[str]) -> Server:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn 未能启动：\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=5) as resp:
                    if resp.status == 200 and len(self.worker_pids()) >= self.workers:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn 在 90 s 内没有应答（端口 {self.port}）")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        return children(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM to the master (it stops its workers), then SIGKILL to its group if needed."""
        terminate(self.proc)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


SCHEDULER_STARTED = "强基通定时任务已启动"  # what `flask scheduler` logs once it holds the lock


class Scheduler:
    """`flask --app wsgi scheduler`, for jobs run in the scheduler process. Its daily
    sweep is moved to 23:59 so starting it does not run a catch-up sweep mid-benchmark."""

    def __init__(self, env: dict[str, str], work_dir: Path):
        self.env = {**env, "SWEEP_TIME": "23:59"}
        self.log = work_dir / "scheduler.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Scheduler:
        seen = self.log.stat().st_size if self.log.exists() else 0  # the log of earlier runs
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        # Ready before anything is timed: a job queued while it still starts would count
        # its start-up (app import, the lock) as the job's time.
        deadline = time.monotonic() + 90
        while SCHEDULER_STARTED.encode() not in self.log.read_bytes()[seen:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"调度进程没有启动，见 {self.log}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        terminate(self.proc)


def memory_mb(pid: int) -> tuple[float | None, float | None]:
    """(VmRSS, VmHWM) of a process in MB: its resident memory now and at its peak."""
    rss = hwm = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, hwm
