"""The benchmark runner's pure parts: percentiles, target evaluation, the Markdown table,
the nation/province ratios and the import sheet. The benchmark itself is run by hand
(`python -m bench run`): far too slow for the suite."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from bench import report
from bench.operations import task_sheet
from bench.stats import percentile, ratio, summarise
from bench.targets import FAST, SWEEP, WRK, XLSX, Result, deep_page, evaluate


def test_percentile_interpolates_between_ranks():
    """Linear interpolation between the nearest ranks, as numpy's default."""
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 50) == 30.0
    assert percentile(values, 100) == 50.0
    assert percentile(values, 95) == pytest.approx(48.0)
    assert percentile([40.0, 10.0, 30.0, 20.0], 50) == pytest.approx(25.0)  # unsorted input
    assert percentile([7.0], 99) == 7.0


def test_percentile_refuses_nonsense():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summary_of_a_hundred_values():
    s = summarise([float(i) for i in range(1, 101)])
    assert (s.n, s.p50, s.p95, s.p99) == (
        100,
        pytest.approx(50.5),
        pytest.approx(95.05),
        pytest.approx(99.01),
    )
    assert summarise([]) is None


def test_ratio_to_sql_needs_measurable_sql():
    assert ratio(30.0, 10.0) == 3.0
    assert ratio(30.0, 0.0) is None
    assert ratio(None, 10.0) is None


def _page(key: str, times: list[float], sql_counts: list[int], sql_ms: list[float], target=FAST) -> Result:
    return Result(key, key, target, times_ms=times, sql_counts=sql_counts, sql_ms=sql_ms)


def test_a_fast_page_meets_every_bound():
    r = _page("list", [20.0] * 30, [12] * 30, [15.0] * 30)
    assert evaluate(r, {}) == []


def test_each_missed_bound_is_named():
    """p95 over 50 ms, 16 statements at most, and the page 4× its SQL: three lines."""
    r = _page("list", [40.0] * 25 + [80.0] * 5, [12] * 29 + [16], [10.0] * 30)
    missed = evaluate(r, {})
    assert len(missed) == 3
    assert any("p95" in m and "50 ms" in m for m in missed)
    assert any("16 条 SQL" in m for m in missed)
    assert any("4.0 倍" in m for m in missed)


def test_page_200_is_compared_with_page_1():
    first = _page("p1", [20.0] * 30, [10] * 30, [15.0] * 30)
    within = _page("p200", [29.0] * 30, [10] * 30, [20.0] * 30, deep_page("p1"))
    beyond = _page("p200", [31.0] * 30, [10] * 30, [20.0] * 30, deep_page("p1"))
    assert evaluate(within, {"p1": first}) == []
    assert evaluate(beyond, {"p1": first}) == ["p95 为 p1 的 1.55 倍，目标 ≤ 1.5 倍"]
    assert evaluate(beyond, {}) == ["无法与 p1 比较（缺少数据）"]


def test_single_operations_memory_and_wrk():
    assert evaluate(Result("sweep", "扫描", SWEEP, seconds=9.9), {}) == []
    assert evaluate(Result("sweep", "扫描", SWEEP, seconds=10.0), {}) != []
    assert evaluate(Result("sweep", "扫描", SWEEP), {}) != []  # nothing measured is not a pass
    assert evaluate(Result("x", "导出", XLSX, seconds=12.0, mb=310.0), {}) == [
        "峰值 RSS 310 MB，目标 < 300 MB"
    ]
    assert evaluate(Result("wrk", "wrk", WRK, rps=250.0, errors=0), {}) == []
    assert len(evaluate(Result("wrk", "wrk", WRK, rps=150.0, errors=3), {})) == 2
    assert evaluate(Result("c", "通报", seconds=1.0), {}) is None  # no target: not judged
    assert evaluate(Result("c", "通报", SWEEP, error="退出码 1"), {}) == ["测量失败：退出码 1"]


def test_table_has_one_row_per_result_and_says_which_missed():
    results = [
        _page("list-subtree-overdue", [20.0] * 30, [12] * 30, [15.0] * 30),
        _page("dashboard", [400.0] * 30, [8] * 30, [300.0] * 30),
        Result("sweep", "提醒扫描", SWEEP, seconds=3.5),
    ]
    text = report.table(results)
    lines = text.splitlines()
    assert lines[0] == "| " + " | ".join(report.HEADER) + " |"
    assert len(lines) == 2 + len(results)
    assert all(line.count("|") == len(report.HEADER) + 1 for line in lines)
    assert "| 20.0 ms | 20.0 ms | 20.0 ms | 12 | 1.3× |" in lines[2] and lines[2].endswith("| 是 |")
    assert lines[3].endswith("| **否** |")
    assert "| 3.50 s |" in lines[4]
    missed = report.missed_lines(results)
    assert missed == ["未达标：dashboard：p95 400 ms，目标 < 50 ms"]


def test_nation_over_province_only_for_paginated_pages():
    nation = [
        _page("list-subtree-overdue", [30.0] * 30, [12] * 30, [20.0] * 30),
        _page("dashboard", [900.0] * 30, [12] * 30, [800.0] * 30),
    ]
    province = {
        "results": [{"key": "list-subtree-overdue", "p95_ms": 15.0}, {"key": "dashboard", "p95_ms": 100.0}]
    }
    ratios = report.nation_ratios(nation, province)
    assert [r.key for r in ratios] == ["nation-ratio-list-subtree-overdue"]
    assert ratios[0].value == pytest.approx(2.0)
    assert evaluate(ratios[0], {}) == ["比值 2.00，目标 ≤ 1.5"]


def test_import_sheet_has_the_header_the_importer_reads():
    data = task_sheet(5, ["华来人民法庭", "田师付人民法庭"], date(2030, 1, 1), "t")
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[1][:5] == ("序号", "任务名称", "工作要求", "责任单位", "完成时限")
    assert len(rows) == 2 + 5
    assert {r[3] for r in rows[2:]} == {"华来人民法庭", "田师付人民法庭"}
    assert all(r[4] >= "2030-01-31" for r in rows[2:])


def test_import_sheet_parses_without_row_errors():
    """The app's own parser reads every row of the sheet, each with its unit and date."""
    from app.importing import read_table
    from app.tasks.parsing import parse_task_rows

    data = task_sheet(50, ["华来人民法庭", "田师付人民法庭"], date(2030, 1, 1), "t")
    parsed = parse_task_rows(read_table("x.xlsx", data, max_rows=5000), default_year=2030)
    assert len(parsed) == 50
    assert [p.errors for p in parsed] == [[]] * 50
    assert parsed[0].unit_names == ["田师付人民法庭"] and parsed[0].deadline.kind == "date"
