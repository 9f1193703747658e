"""The order of a run: database → ids → server (1 worker × 5 threads) → pages, API lists,
export, worker memory → second server (as deployed: deploy/gunicorn.conf.py) for wrk → import and circular → sweep
→ table. Writes only its work directory, its cache and bench/results/."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench import operations as ops
from bench import report
from bench.client import BenchError, Client, api_token
from bench.database import ROOT, Unreachable, clean_work_dir, prepare_postgres, prepare_sqlite
from bench.pages import after_change, pages
from bench.server import Scheduler, Server, app_env, deployed_workers, memory_mb, new_secret
from bench.targets import (
    IMPORT_COMMIT,
    IMPORT_PREVIEW,
    LOGIN,
    SWEEP,
    WORKER,
    WRK,
    XLSX,
    Result,
)

RESULTS = Path(__file__).resolve().parent / "results"
PORTS = range(5301, 5321)


@dataclass
class Options:
    scale: str
    db: str
    quick: bool = False
    only: str | None = None
    skip: str | None = None
    port: int = 5301
    seed: int = 1
    source: Path | None = None
    sweep_limit: float = 1800.0


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _prepare_ids(env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.prepare"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-PREPARE "):
            return json.loads(line[len("BENCH-PREPARE ") :])
    raise RuntimeError(
        f"读取测量对象失败（退出码 {proc.returncode}）：\n{(proc.stderr or proc.stdout)[-3000:]}"
    )


def _progress(r: Result) -> None:
    s = r.summary
    if r.error:
        print(f"  {r.key:28} 失败：{r.error[:160]}", flush=True)
    elif s:
        sql = f"，{r.sql_max} 条 SQL" if r.sql_max is not None else ""
        print(f"  {r.key:28} p50 {s.p50:8.1f} ms  p95 {s.p95:8.1f} ms  n={s.n}{sql}", flush=True)
    else:
        parts = [
            f"{r.seconds:.2f} s" if r.seconds is not None else "",
            f"{r.mb:.0f} MB" if r.mb else "",
            f"{r.rps:.1f} req/s" if r.rps is not None else "",
            r.note,
        ]
        print(f"  {r.key:28} " + "  ".join(p for p in parts if p), flush=True)


class Run:
    def __init__(self, o: Options):
        self.o = o
        self.plan = ops.Plan.quick() if o.quick else ops.Plan()
        self.only = re.compile(o.only, re.I) if o.only else None
        self.skip = re.compile(o.skip, re.I) if o.skip else None
        self.work_dir = Path("/tmp/benchrun") / f"{o.scale}-{o.db}"
        self.results: list[Result] = []
        self.notes: list[str] = []
        self.scheduler: Scheduler | None = None

    def wanted(self, key: str, label: str = "") -> bool:
        """--only keeps what matches (key or label); --skip drops what matches."""
        if self.skip is not None and (self.skip.search(key) or self.skip.search(label)):
            return False
        return self.only is None or bool(self.only.search(key) or self.only.search(label))

    def add(self, r: Result) -> Result:
        self.results.append(r)
        _progress(r)
        return r

    def start_scheduler(self, env: dict[str, str]) -> Callable[[], None]:
        def start() -> None:
            if self.scheduler is None:
                print("  （应用有后台任务：在 gunicorn 旁启动调度进程 flask scheduler）", flush=True)
                self.scheduler = Scheduler(env, self.work_dir).start()
                self.notes.append(
                    "应用有后台任务：gunicorn 旁运行调度进程（flask scheduler，SWEEP_TIME=23:59，以免启动时补跑扫描）；"
                    "导入、导出、通报若转为后台任务，计时到任务完成（轮询 /jobs/<id>.json）。"
                )

        return start

    def main(self) -> int:
        o = self.o
        for p in (o.port, o.port + 1):
            if p not in PORTS:
                print(f"端口 {p} 不在 5301–5320 之内。", file=sys.stderr)
                return 2
            if not _free(p):
                print(f"端口 {p} 已被占用。", file=sys.stderr)
                return 2
        clean_work_dir(self.work_dir)
        print(f"强基通基准测试：规模 {o.scale}，数据库 {o.db}，工作目录 {self.work_dir}", flush=True)
        try:
            if o.db == "postgresql":
                prepared = prepare_postgres(o.scale, o.seed)
            else:
                prepared = prepare_sqlite(o.scale, o.seed, self.work_dir, o.source)
            print(f"数据库：{prepared.how}", flush=True)
            env = app_env(prepared.url, self.work_dir, new_secret())
            ids = _prepare_ids(env)
        except Unreachable as exc:
            print(
                f"错误：{exc}。请先启动 PostgreSQL，或用 BENCH_POSTGRES_URL 指定可用的服务器。",
                file=sys.stderr,
            )
            return 2
        except RuntimeError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 1
        counts = "，".join(f"{k} {v:,}" for k, v in ids["counts"].items())
        print(f"数据：{counts}", flush=True)
        started, load_before = time.monotonic(), report.load()
        try:
            self.measure(env, ids)
        except (BenchError, RuntimeError) as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 1
        finally:
            if self.scheduler is not None:
                self.scheduler.stop()
        self.sweep(env, ids)
        if o.scale == "nation":
            self.nation()
        self.notes[:0] = [
            f"数据库：{prepared.how}；数据：{counts}",
            f"每页先预热 {self.plan.warmups} 次，再测 {self.plan.reps} 次（单页超过 {self.plan.budget_s:g} s 预算时至少 3 次，n 为实测次数）；"
            "时间为客户端从发出请求到读完响应；SQL 条数与 SQL 时间取自响应头 X-SQL-Count / X-SQL-Time-Ms。",
            "与 SQL 之比 = 页面 p50 / SQL 时间 p50；登录的时间主要是有意为之的 scrypt，不计此比。"
            "SQL 时间含执行与取行（SQLite 在 execute 之后逐行计算结果，取行的时间也计入）；"
            "SQL 条数不计 BEGIN / COMMIT 等事务控制语句。",
            f"页面、导出、导入、通报：gunicorn --worker-class gthread 1 worker × 5 线程（端口 {o.port}）；"
            f"wrk 对着按部署配置启动的 gunicorn（deploy/gunicorn.conf.py：同步工作进程 "
            f"{deployed_workers(env)} 个 = CPU 核数 + 1，无 gunicorn 访问日志；端口 {o.port + 1}）。"
            "APP_CONFIG=production，SESSION_COOKIE_SECURE=0（回环 HTTP）。",
            f"全程 {time.monotonic() - started:.0f} s；开始时负载 {load_before}，结束时 {report.load()}"
            f"（{os.cpu_count()} 核：负载高于核数时，别的进程在分走 CPU，各项时间偏高）。",
        ]
        self.write(prepared.server_version, ids)
        return 0

    def measure(self, env: dict[str, str], ids: dict) -> None:
        o, plan = self.o, self.plan
        with Server(env, o.port, self.work_dir, workers=1, threads=5) as server:
            if ids.get("has_jobs"):
                self.start_scheduler(env)()
            base = server.url
            c = {"anonymous": Client(base)}
            for role, username in (("head", "hlft"), ("assigner", "bxzy"), ("reviewer", "lnfy")):
                c[role] = Client(base)
                c[role].login_once(username)
                c[role].on_job = self.start_scheduler(env)
                c[f"{role}-api"] = Client(base, token=api_token(base, username))
            if self.wanted("login", "登录"):
                self.add(
                    ops.measure_page(
                        Result("login", "登录 POST /login（庭长）", LOGIN),
                        lambda: Client(base).login_once("hlft"),
                        plan,
                    )
                )
            measured = pages(ids, c)
            for key, label, target, client, path in measured:
                if self.wanted(key, label):
                    self.add(
                        ops.measure_page(
                            Result(key, label, target), lambda cl=client, p=path: cl.get(p), plan
                        )
                    )
            change = ops.Changer(env["DATABASE_URL"])
            for key, label, target, client, path in after_change(measured):
                if self.wanted(key, label):
                    self.add(
                        ops.measure_page(
                            Result(key, label, target),
                            lambda cl=client, p=path: change.then(lambda: cl.get(p)),
                            plan,
                        )
                    )
            change.close()
            worker = server.worker_pids()[0]

            def fresh(username: str) -> Client:
                """A new login: the sessions of the page measurements may have idled out (30 min)."""
                client = Client(base)
                client.login_once(username)
                client.on_job = self.start_scheduler(env)
                return client

            def peak() -> float | None:
                hwm = [memory_mb(worker)[1]]
                if self.scheduler is not None and self.scheduler.proc is not None:
                    hwm.append(memory_mb(self.scheduler.proc.pid)[1])
                return max((h for h in hwm if h is not None), default=None)

            if self.wanted("worker-rss", "worker"):
                rss, hwm = memory_mb(worker)
                self.add(
                    Result(
                        "worker-rss",
                        "web worker 峰值 RSS（测完各页后）",
                        WORKER,
                        mb=hwm,
                        note=f"VmHWM；当前 VmRSS {rss:.0f} MB" if rss else "VmHWM",
                    )
                )
            if self.wanted("completion-xlsx", "导出"):
                self.add(
                    ops.completion_xlsx(
                        Result("completion-xlsx", "完成清单导出 /completion.xlsx（全省）", XLSX),
                        fresh("lnfy"),
                        "/completion.xlsx",
                        peak,
                    )
                )
            if self.wanted("wrk", "wrk"):
                self.wrk(env, ids)
            if self.wanted("import", "导入"):
                self.task_import(fresh("bxzy"), ids)
            if self.wanted("circular", "通报"):
                self.add(
                    ops.circular(
                        Result("circular", "月末通报稿生成 POST /circulars/draft（强基办）"), fresh("lnfy")
                    )
                )
            if self.wanted("worker-rss", "worker"):
                self.notes.append(
                    f"1 worker 的最终 VmHWM（含导出、导入、通报）：{memory_mb(worker)[1] or 0:.0f} MB。"
                )

    def wrk(self, env: dict[str, str], ids: dict) -> None:
        bx = ids["assigner"]["unit_id"]
        path = f"/assignments?unit={bx}&status=overdue"
        result = Result("wrk", f"wrk 50 连接 {self.plan.wrk_seconds} s：{path}（中院专班会话）", WRK)
        try:
            with Server(env, self.o.port + 1, self.work_dir, deployed=True) as server:
                client = Client(server.url)
                client.login_once("bxzy")
                client.get(path)  # the cookie works before wrk uses it
                ops.wrk(
                    result, server.url + path, client.cookie_header(), self.plan.wrk_seconds, self.work_dir
                )
        except (BenchError, RuntimeError) as exc:
            result.error = str(exc)[:300]
        self.add(result)

    def task_import(self, client: Client, ids: dict) -> None:
        rows = self.plan.import_rows
        preview = Result("import-preview", f"导入 {rows} 行任务清单：预览", IMPORT_PREVIEW)
        commit = Result("import-commit", f"导入 {rows} 行任务清单：确认导入", IMPORT_COMMIT)
        project, units = ids.get("import_project"), ids.get("import_units")
        if not project or not units:
            preview.error = commit.error = "没有中院专班可导入的项目或下级单位"
        else:
            tag = time.strftime("%m%d%H%M%S")
            sheet = ops.task_sheet(rows, units, date.fromisoformat(project["start"]), tag)
            ops.task_import(preview, commit, client, project["id"], sheet)
            self.notes.append(
                f"导入：通过网页表单（/imports/tasks），项目 {project['id']}，责任单位轮流取 {'、'.join(units)}。"
            )
        self.add(preview)
        self.add(commit)

    def sweep(self, env: dict[str, str], ids: dict) -> None:
        if not self.wanted("sweep", "提醒扫描"):
            return
        result = Result("sweep", "提醒扫描 flask reminders run（全库）", SWEEP)
        rss = Result("sweep-rss", "提醒扫描进程峰值 RSS")
        ops.sweep(result, rss, env, ids["sweep_date"], self.work_dir, self.o.sweep_limit)
        self.add(result)
        self.add(rss)

    def nation(self) -> None:
        found = report.latest(RESULTS, "province", self.o.db)
        if found is None:
            self.notes.append(f"没有全省（province，{self.o.db}）的结果文件，无法计算全国/全省 p95 之比。")
            return
        province = json.loads(found.read_text(encoding="utf-8"))
        for r in report.nation_ratios(self.results, province):
            self.add(r)
        self.notes.append(f"全国/全省之比的分母取自 {found.relative_to(ROOT)}。")

    def write(self, server_version: str | None, ids: dict) -> None:
        o = self.o
        suffix = "-quick" if o.quick else (time.strftime("-partial-%H%M") if o.only or o.skip else "")
        name = f"{date.today().isoformat()}-{o.scale}-{o.db}{suffix}"
        title = f"强基通基准测试：{o.scale} / {o.db} / {date.today().isoformat()}" + (
            "（--quick 冒烟）" if o.quick else ("（部分：--only / --skip）" if o.only or o.skip else "")
        )
        info = report.machine(o.db, server_version)
        text = report.markdown(title, self.results, info, self.notes)
        meta = {
            "scale": o.scale,
            "db": o.db,
            "date": date.today().isoformat(),
            "machine": info,
            "counts": ids.get("counts"),
            "quick": o.quick,
            "only": o.only,
            "skip": o.skip,
        }
        path = RESULTS / f"{name}.md"
        report.write(path, text, report.to_json(self.results, meta))
        print()
        print(text)
        print(f"已写入 {path.relative_to(ROOT)}")
