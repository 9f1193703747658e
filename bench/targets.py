"""What each figure must meet (issue 11, 'Make it fast') and whether it did (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stats import Summary, ratio, summarise


@dataclass(frozen=True)
class Target:
    """Every bound that applies to one measurement; None = not bounded."""

    p95_ms: float | None = None
    max_sql: int | None = None  # statements per request (the largest seen)
    max_ratio: float | None = None  # page time / its SQL time (p50 / p50)
    within: tuple[str, float] | None = None  # p95 ≤ factor × p95 of another measurement
    max_seconds: float | None = None  # a single operation
    max_mb: float | None = None  # peak RSS
    min_rps: float | None = None
    max_errors: int | None = None
    max_value: float | None = None  # a plain ratio (nation / province)

    def describe(self, labels: dict[str, str] | None = None) -> str:
        parts = []
        if self.p95_ms is not None:
            parts.append(f"p95 < {self.p95_ms:g} ms")
        if self.within is not None:
            other, factor = self.within
            parts.append(f"p95 ≤ {factor:g}× {(labels or {}).get(other, other)}")
        if self.max_sql is not None:
            parts.append(f"≤ {self.max_sql} SQL")
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}× SQL")
        if self.max_seconds is not None:
            parts.append(f"< {self.max_seconds:g} s")
        if self.max_mb is not None:
            parts.append(f"RSS < {self.max_mb:g} MB")
        if self.min_rps is not None:
            parts.append(f"≥ {self.min_rps:g} req/s")
        if self.max_errors is not None:
            parts.append(f"{self.max_errors} 错误")
        if self.max_value is not None:
            parts.append(f"≤ {self.max_value:g}")
        return "；".join(parts) or "—"


NONE = Target()
# List pages, 我的工作, 今日工作, the project page (and the API lists).
FAST = Target(p95_ms=50, max_sql=15, max_ratio=2)
# Dashboard, rankings, completion list.
ROLLUP = Target(p95_ms=150, max_sql=15, max_ratio=2)
# Every other page: no time bound of its own, but the statement count and the ratio.
PAGE = Target(max_sql=15, max_ratio=2)
LOGIN = Target(max_sql=15)  # its time is scrypt's, on purpose: no ratio to SQL
SWEEP = Target(max_seconds=10)
IMPORT_PREVIEW = Target(max_seconds=3)
IMPORT_COMMIT = Target(max_seconds=5)
XLSX = Target(max_seconds=15, max_mb=300)
WORKER = Target(max_mb=200)
WRK = Target(min_rps=200, max_errors=0)
NATION = Target(max_value=1.5)


def deep_page(first_page_key: str) -> Target:
    """Page 200 of a list: the list's own bounds and within 1.5× of its page 1."""
    return Target(p95_ms=50, max_sql=15, max_ratio=2, within=(first_page_key, 1.5))


@dataclass
class Result:
    """One row of the table: a page timed N times, or one operation, memory, or wrk."""

    key: str
    label: str
    target: Target = NONE
    times_ms: list[float] = field(default_factory=list)
    sql_counts: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    seconds: float | None = None
    mb: float | None = None
    rps: float | None = None
    errors: int | None = None
    value: float | None = None
    note: str = ""
    error: str = ""

    @property
    def summary(self) -> Summary | None:
        return summarise(self.times_ms)

    @property
    def sql_summary(self) -> Summary | None:
        return summarise(self.sql_ms)

    @property
    def sql_max(self) -> int | None:
        return max(self.sql_counts) if self.sql_counts else None

    @property
    def ratio(self) -> float | None:
        page, sql = self.summary, self.sql_summary
        return ratio(page.p50 if page else None, sql.p50 if sql else None)


def evaluate(result: Result, others: dict[str, Result]) -> list[str] | None:
    """The bounds the result misses, in Chinese; [] when all are met; None when it has none."""
    t = result.target
    if result.error:
        return [f"测量失败：{result.error}"]
    if t == NONE:
        return None
    missed: list[str] = []
    s = result.summary
    if t.p95_ms is not None and (s is None or s.p95 >= t.p95_ms):
        missed.append(f"p95 {_ms(s.p95 if s else None)}，目标 < {t.p95_ms:g} ms")
    if t.within is not None:
        other_key, factor = t.within
        other = others.get(other_key)
        o = other.summary if other else None
        if s is None or o is None:
            missed.append(f"无法与 {other_key} 比较（缺少数据）")
        elif s.p95 > factor * o.p95:
            missed.append(f"p95 为 {other.label} 的 {s.p95 / o.p95:.2f} 倍，目标 ≤ {factor:g} 倍")
    if t.max_sql is not None and result.sql_max is not None and result.sql_max > t.max_sql:
        missed.append(f"{result.sql_max} 条 SQL，目标 ≤ {t.max_sql}")
    if t.max_ratio is not None and result.ratio is not None and result.ratio > t.max_ratio:
        missed.append(f"页面时间为 SQL 时间的 {result.ratio:.1f} 倍，目标 ≤ {t.max_ratio:g} 倍")
    if t.max_seconds is not None and (result.seconds is None or result.seconds >= t.max_seconds):
        missed.append(f"{_s(result.seconds)}，目标 < {t.max_seconds:g} s")
    if t.max_mb is not None and (result.mb is None or result.mb >= t.max_mb):
        missed.append(f"峰值 RSS {_mb(result.mb)}，目标 < {t.max_mb:g} MB")
    if t.min_rps is not None and (result.rps is None or result.rps < t.min_rps):
        missed.append(f"{_rps(result.rps)}，目标 ≥ {t.min_rps:g} req/s")
    if t.max_errors is not None and (result.errors is None or result.errors > t.max_errors):
        missed.append(f"{result.errors if result.errors is not None else '?'} 个错误，目标 {t.max_errors}")
    if t.max_value is not None and (result.value is None or result.value > t.max_value):
        missed.append(f"比值 {_num(result.value)}，目标 ≤ {t.max_value:g}")
    return missed


def _ms(v: float | None) -> str:
    return "—" if v is None else (f"{v:,.0f} ms" if v >= 100 else f"{v:.1f} ms")


def _s(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f} s"


def _mb(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} MB"


def _rps(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f} req/s"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"
