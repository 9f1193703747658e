"""How each kind of figure is taken: a page timed N times, the XLSX export, a 2,000-row
import through the web form, the month-end circular, the reminder sweep, wrk."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import requests
import sqlalchemy

from bench.client import BenchError, Client, Timed, csrf_token
from bench.database import ROOT
from bench.targets import Result

GUNICORN_DEFAULT_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Plan:
    """How hard to measure: warm-ups and repetitions per page, time budget per page,
    wrk's duration and the import's size."""

    warmups: int = 3
    reps: int = 30
    budget_s: float = 90.0
    wrk_seconds: int = 30
    import_rows: int = 2000

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmups=1, reps=5, budget_s=15.0, wrk_seconds=5, import_rows=200)


def measure_page(result: Result, call: Callable[[], Timed], plan: Plan) -> Result:
    """Warm up, then time `call` up to plan.reps times (fewer when a page is so slow that
    the budget runs out: at least 3, and the row says n)."""
    try:
        for _ in range(plan.warmups):
            if call().ms > 2000:
                break  # a slow page is warm after one request
        started = time.monotonic()
        for _ in range(plan.reps):
            r = call()
            result.times_ms.append(r.ms)
            if r.sql_count is not None:
                result.sql_counts.append(r.sql_count)
            if r.sql_ms is not None:
                result.sql_ms.append(r.sql_ms)
            if time.monotonic() - started > plan.budget_s and len(result.times_ms) >= min(3, plan.reps):
                break
    except (BenchError, requests.RequestException) as exc:
        result.error = str(exc)[:300]
    if result.times_ms and max(result.times_ms) > GUNICORN_DEFAULT_TIMEOUT_MS:
        result.note = (result.note + "；" if result.note else "") + "有请求超过 30 s（gunicorn 默认超时）"
    return result


class Changer:
    """Raises the tally version in the database, as any change to an item does, so that
    the next roll-up request cannot use a kept result (its own time is not counted)."""

    def __init__(self, url: str):
        self.engine = sqlalchemy.create_engine(url)

    def then(self, call: Callable[[], Timed]) -> Timed:
        with self.engine.begin() as conn:
            conn.execute(sqlalchemy.text("UPDATE tally_version SET n = n + 1 WHERE id = 1"))
        return call()

    def close(self) -> None:
        self.engine.dispose()


def completion_xlsx(result: Result, client: Client, path: str, rss: Callable[[], float | None]) -> Result:
    """One export (a background job is followed to its file): time, size, peak RSS."""
    try:
        t0 = time.perf_counter()
        first = client.request("GET", path)
        final, job = client.wait_for_job(first, path)
        result.seconds = time.perf_counter() - t0
        if final.status != 200 or "spreadsheet" not in final.headers.get("Content-Type", ""):
            raise BenchError(f"没有得到 XLSX 文件：{final.status} {final.headers.get('Content-Type')}")
        result.mb = rss()
        result.note = size_text(final.size) + ("，后台任务" if job else "")
    except (BenchError, requests.RequestException) as exc:
        result.error = str(exc)[:300]
    return result


def size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{size / 1024:.0f} KB"


def task_sheet(rows: int, units: list[str], start: date, tag: str) -> bytes:
    """A task list as courts keep them: a title row, then 序号 / 任务名称 / 工作要求 /
    责任单位 / 完成时限 / 备注, one unit per row taken in turn, dates within the project."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "任务清单"
    ws.append([f"基准测试任务清单（{tag}）"])
    ws.append(["序号", "任务名称", "工作要求", "责任单位", "完成时限", "备注"])
    first = max(start, date.today())
    for i in range(1, rows + 1):
        due = first + timedelta(days=30 + i % 300)
        ws.append(
            [
                i,
                f"基准导入事项{tag}第{i:04d}项",
                f"按要求完成第{i}项工作，形成台账并报送。",
                units[i % len(units)],
                due.isoformat(),
                "",
            ]
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def task_import(preview: Result, commit: Result, client: Client, project_id: int, sheet: bytes) -> None:
    """Through the web form, as a 工作专班 would: upload → the preview page (timed until it
    is shown, or until its job is done), then 确认导入 (timed until the answer)."""
    try:
        form = client.get(f"/imports/tasks?project_id={project_id}")
        t0 = time.perf_counter()
        first = client.request(
            "POST",
            "/imports/tasks",
            data={"project_id": str(project_id), "csrf_token": csrf_token(form.text)},
            files={"file": ("基准测试任务清单.xlsx", sheet, "application/octet-stream")},
        )
        page, job = client.wait_for_job(first, "/imports/tasks")
        preview.seconds = time.perf_counter() - t0
        preview.note = "网页表单：上传到预览页" + ("，后台任务" if job else "")
        if first.sql_count is not None:
            preview.sql_counts.append(first.sql_count)
        match = re.search(r'action="(/imports/tasks/\d+/commit)"', page.text)
        if page.status != 200 or not match:
            raise BenchError(f"上传后没有得到预览页：{page.status} {page.text[:300]}")
        bad = re.search(r'data-testid="bad-rows">([^<]*)<', page.text)
        if bad:
            first_error = re.search(r'<span class="text-danger">([^<]*)</span>', page.text)
            raise BenchError(f"预览页报告{bad.group(1)}：{first_error.group(1) if first_error else ''}")
    except (BenchError, requests.RequestException) as exc:
        preview.error = str(exc)[:300]
        commit.error = "预览未完成"
        return
    try:
        t0 = time.perf_counter()
        first = client.request("POST", match.group(1), data={"csrf_token": csrf_token(page.text)})
        final, job = client.wait_for_job(first, match.group(1), follow=False)
        commit.seconds = time.perf_counter() - t0
        if first.sql_count is not None:
            commit.sql_counts.append(first.sql_count)
        if not job and first.status != 302:
            raise BenchError(f"确认导入没有成功：{first.status} {first.text[:300]}")
        commit.note = "网页表单：确认导入到跳转" + ("，后台任务" if job else "")
    except (BenchError, requests.RequestException) as exc:
        commit.error = str(exc)[:300]


def circular(result: Result, client: Client) -> Result:
    """生成上月月末通报稿 (POST /circulars/draft) until the draft's page is shown."""
    try:
        page = client.get("/circulars")
        t0 = time.perf_counter()
        first = client.request("POST", "/circulars/draft", data={"csrf_token": csrf_token(page.text)})
        final, job = client.wait_for_job(first, "/circulars/draft")
        result.seconds = time.perf_counter() - t0
        if first.sql_count is not None:
            result.sql_counts.append(first.sql_count)
        made = job or re.search(r"/circulars/\d+$", first.headers.get("Location", ""))
        if final.status != 200 or not made:
            raise BenchError(f"没有生成通报稿：{final.status} {final.text[:300]}")
        result.note = "网页：生成到显示通报稿" + ("，后台任务" if job else "")
    except (BenchError, requests.RequestException) as exc:
        result.error = str(exc)[:300]
    return result


def sweep(
    result: Result, rss: Result, env: dict[str, str], as_of: str, work_dir: Path, limit_s: float
) -> None:
    """`flask --app wsgi reminders run --date D` over the whole database: wall time and
    the peak RSS of that one process (os.wait4's rusage, not the runner's other children).
    Stopped (SIGKILL to that process) past limit_s: the row then says so."""
    out = work_dir / "sweep.log"
    with open(out, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "reminders", "run", "--date", as_of],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stopped = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if not stopped and time.perf_counter() - t0 > limit_s:
                proc.kill()
                stopped = True
            time.sleep(0.1)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - t0
    text = out.read_text(errors="replace").strip()
    rss.mb = usage.ru_maxrss / 1024
    if stopped:
        result.error = f"超过 {limit_s:g} s 仍未结束，已中止（--sweep-limit 可放宽）"
        return
    if proc.returncode != 0:
        result.error = rss.error = f"退出码 {proc.returncode}：{text[-300:]}"
        return
    result.seconds = elapsed
    result.note = f"{as_of}：{text.splitlines()[0][:120] if text else ''}"


WRK_LUA = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  io.write(string.format("QJ-STATUS ok=%d bad=%d\\n", o, b))
end
"""


def wrk(result: Result, url: str, cookie: str, seconds: int, work_dir: Path) -> Result:
    """wrk, 50 connections, 2 threads, per-request timeout 30 s, the logged-in cookie; every
    answer but 200 (a redirect to the login page too) and every socket error counts."""
    binary = shutil.which("wrk")
    if binary is None:
        result.error = "未安装 wrk（Debian：apt-get install -y wrk）"
        return result
    script = work_dir / "status.lua"
    script.write_text(WRK_LUA)
    cmd = [binary, "-t2", "-c50", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", str(script)]
    cmd += ["-H", f"Cookie: {cookie}", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    text = proc.stdout + proc.stderr
    (work_dir / "wrk.log").write_text(text)
    rps = re.search(r"Requests/sec:\s*([\d.]+)", text)
    status = re.search(r"QJ-STATUS ok=(\d+) bad=(\d+)", text)
    if not rps or not status:
        result.error = f"无法解析 wrk 的输出：{text[-300:]}"
        return result
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(x) for x in sockets.groups()) if sockets else 0
    result.rps = float(rps.group(1))
    result.errors = int(status.group(2)) + socket_errors
    lat = dict(re.findall(r"^\s*(50|99)%\s+(\S+)", text, re.M))
    result.note = (
        f"{status.group(1)} 个 200，{status.group(2)} 个非 200，套接字错误 {socket_errors}；"
        f"延迟 p50 {lat.get('50', '?')}，p99 {lat.get('99', '?')}"
    )
    return result
