"""Percentiles and a summary of one measured series (pure functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), interpolated linearly between the nearest ranks
    (numpy's default, 'linear'). One value is every percentile of itself."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0–100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    p99: float


def summarise(values: Sequence[float]) -> Summary | None:
    """p50 / p95 / p99 of a series, or None when nothing was measured."""
    if not values:
        return None
    return Summary(len(values), percentile(values, 50), percentile(values, 95), percentile(values, 99))


def ratio(page_ms: float | None, sql_ms: float | None) -> float | None:
    """A page's time over the time of the SQL it ran; None when either is missing or the
    SQL took no measurable time (a page with no statements has no such ratio)."""
    if page_ms is None or sql_ms is None or sql_ms < 0.01:
        return None
    return page_ms / sql_ms
