"""The Markdown table, the 未达标 lines, the machine, and the JSON kept beside the table
(the nation run reads the province run's JSON for its p95 ratios)."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from bench.targets import NATION, Result, _mb, _ms, _num, _rps, _s, evaluate

HEADER = ("measurement", "p50", "p95", "p99", "SQL count", "ratio to SQL", "target", "met?")

# Pages whose cost must not grow with the data (nation / province p95 ≤ 1.5, issue 11).
PAGINATED = (
    "list-subtree-overdue",
    "list-province-overdue",
    "list-province-overdue-p200",
    "my",
    "today",
    "project",
    "api-assignments-subtree",
    "api-assignments-p1",
    "api-assignments-p200",
    "api-notifications",
)


def cells(result: Result, others: dict[str, Result]) -> list[str]:
    """The eight cells of one row."""
    label = result.label + (f"（{result.note}）" if result.note else "")
    s = result.summary
    if s is not None:
        p50, p95, p99 = _ms(s.p50), _ms(s.p95), _ms(s.p99)
        label += f" n={s.n}"
    elif result.seconds is not None:
        p50, p95, p99 = _s(result.seconds), "—", "—"
    elif result.rps is not None:
        p50, p95, p99 = _rps(result.rps), "—", "—"
    elif result.mb is not None:
        p50, p95, p99 = _mb(result.mb), "—", "—"
    elif result.value is not None:
        p50, p95, p99 = _num(result.value), "—", "—"
    else:
        p50 = p95 = p99 = "—"
    sql = "—"
    if result.sql_counts:
        median = sorted(result.sql_counts)[len(result.sql_counts) // 2]
        sql = str(median) if median == result.sql_max else f"{median}（最多 {result.sql_max}）"
    r = result.ratio
    ratio = "—" if r is None else f"{r:.1f}×"
    labels = {k: v.label for k, v in others.items()}
    missed = evaluate(result, others)
    met = "—" if missed is None else ("是" if not missed else "**否**")
    return [label, p50, p95, p99, sql, ratio, result.target.describe(labels), met]


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(results: list[Result]) -> str:
    """The Markdown table of every result, in order."""
    others = {r.key: r for r in results}
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---", *["---:"] * 5, "---", "---"]) + "|"]
    for r in results:
        lines.append("| " + " | ".join(_escape(c) for c in cells(r, others)) + " |")
    return "\n".join(lines)


def missed_lines(results: list[Result]) -> list[str]:
    """One '未达标' line per result that misses a bound (or could not be measured)."""
    others = {r.key: r for r in results}
    out = []
    for r in results:
        missed = evaluate(r, others)
        if missed:
            out.append(f"未达标：{r.label}：" + "；".join(missed))
    return out


def machine(db_backend: str, server_version: str | None = None) -> dict[str, str]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "CPU": f"{os.cpu_count()} × {cpu or platform.processor() or '?'}",
        "内存": _memory(),
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "系统": platform.platform(),
        "git": _git(),
    }
    if db_backend == "postgresql":
        info["PostgreSQL"] = server_version or "?"
    return info


def load() -> str:
    """The 1/5/15-minute load average: other work on the machine skews every figure."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    return "?"


def _git() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head + ("（工作区有未提交的修改）" if dirty else "")


def markdown(title: str, results: list[Result], info: dict[str, str], extra: list[str]) -> str:
    """The whole result file: title, machine, table, the 未达标 lines, notes."""
    parts = [f"# {title}", ""]
    parts += [f"- {k}：{v}" for k, v in info.items()]
    parts += ["", table(results), ""]
    missed = missed_lines(results)
    parts += [f"- {line}" for line in missed] or ["- 全部达标。"]
    if extra:
        parts += ["", *[f"- {line}" for line in extra]]
    return "\n".join(parts) + "\n"


def to_json(results: list[Result], meta: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for r in results:
        s = r.summary
        rows.append(
            {
                "key": r.key,
                "label": r.label,
                "p50_ms": s.p50 if s else None,
                "p95_ms": s.p95 if s else None,
                "p99_ms": s.p99 if s else None,
                "n": s.n if s else 0,
                "sql_max": r.sql_max,
                "ratio": r.ratio,
                "seconds": r.seconds,
                "mb": r.mb,
                "rps": r.rps,
                "errors": r.errors,
                "value": r.value,
                "note": r.note,
                "error": r.error,
            }
        )
    return {**meta, "results": rows}


def latest(results_dir: Path, scale: str, db_backend: str) -> Path | None:
    """The newest JSON result of a scale and database, by its dated name."""
    found = sorted(results_dir.glob(f"*-{scale}-{db_backend}.json"))
    return found[-1] if found else None


def nation_ratios(results: list[Result], province: dict[str, Any]) -> list[Result]:
    """Nation p95 over province p95 for every paginated page measured at both scales."""
    before = {row["key"]: row for row in province.get("results", [])}
    out = []
    for r in results:
        s, old = r.summary, before.get(r.key)
        if r.key not in PAGINATED or s is None or not old or not old.get("p95_ms"):
            continue
        out.append(
            Result(
                key=f"nation-ratio-{r.key}",
                label=f"全国/全省 p95：{r.label}",
                target=NATION,
                value=s.p95 / old["p95_ms"],
                note=f"{_ms(s.p95)} / {_ms(old['p95_ms'])}",
            )
        )
    return out


def write(path: Path, text: str, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.with_suffix(".json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
