"""Server-rendered SVG charts: well-formed, accessible, one mark per value, safe to print and embed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from app.dashboard.charts import (
    EMPTY_TEXT,
    PALETTE,
    Series,
    bar_chart,
    format_value,
    line_chart,
    nice_ticks,
    shown_x_labels,
)

NS = "http://www.w3.org/2000/svg"
MONTHS = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
CHARTS = [line_chart, bar_chart]


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def sample() -> list[Series]:
    return [
        Series("办结事项", [3, 5, None, 7, 2, 4]),
        Series("新增事项", [1, 2, 6, None, 0, 3]),
        Series("逾期事项", [None, 1, 1, 2, None, None]),
    ]


def series_group(root: ET.Element, j: int) -> ET.Element:
    groups = [g for g in root.iter(q("g")) if g.get("class") == "series" and g.get("data-series") == str(j)]
    assert len(groups) == 1
    return groups[0]


def value_texts(root: ET.Element, j: int) -> list[str]:
    return [
        t.text or ""
        for t in root.iter(q("text"))
        if t.get("class") == "value" and t.get("data-series") == str(j)
    ]


def legend_names(root: ET.Element) -> list[str]:
    legend = next(g for g in root.iter(q("g")) if g.get("class") == "legend")
    return [t.text or "" for t in legend.iter(q("text"))]


def y_axis_labels(root: ET.Element) -> list[str]:
    axis = next(g for g in root.iter(q("g")) if g.get("class") == "y-axis")
    return [t.text or "" for t in axis.iter(q("text"))]


def x_axis_labels(root: ET.Element) -> list[str]:
    axis = next(g for g in root.iter(q("g")) if g.get("class") == "x-axis")
    return [t.text or "" for t in axis.iter(q("text"))]


def markers(root: ET.Element, j: int) -> list[ET.Element]:
    return [el for el in series_group(root, j) if el.get("class") == "marker"]


def polylines(root: ET.Element, j: int) -> list[ET.Element]:
    return [el for el in series_group(root, j) if el.tag == q("polyline")]


# --- the <svg> element --------------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_root_element_is_accessible_and_sized_by_view_box(chart):
    root = parse(chart(MONTHS, sample(), title="月度办结情况", testid="trend"))
    assert root.tag == q("svg")
    assert root.get("viewBox") == "0 0 640 260"
    assert root.get("width") == "100%"
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "月度办结情况"
    assert root.get("class") == "chart"
    assert root.get("data-testid") == "trend"
    assert "sans-serif" in root.get("font-family", "")
    assert root.find(q("title")).text == "月度办结情况"
    assert list(root)[0].tag == q("title")


@pytest.mark.parametrize("chart", CHARTS)
def test_desc_lists_every_data_point_and_skips_gaps(chart):
    root = parse(chart(MONTHS, sample(), title="t"))
    desc = root.find(q("desc")).text
    points = desc.split("；")
    assert len(points) == 5 + 5 + 3
    assert "2026年10月 办结事项 2" in points
    assert "2026年6月 办结事项 3" in points
    assert "2026年11月 新增事项 3" in points
    assert not any(p.startswith("2026年8月 办结事项") for p in points)


def test_no_testid_attribute_when_not_given():
    root = parse(line_chart(MONTHS, sample(), title="t"))
    assert "data-testid" not in root.attrib


@pytest.mark.parametrize("chart", CHARTS)
def test_output_is_deterministic(chart):
    assert chart(MONTHS, sample(), title="t", testid="x") == chart(MONTHS, sample(), title="t", testid="x")


def test_lengths_must_match_labels():
    with pytest.raises(ValueError, match="办结事项"):
        bar_chart(MONTHS, [Series("办结事项", [1, 2])], title="t")
    with pytest.raises(ValueError, match="scale"):
        line_chart(MONTHS, sample(), title="t", scale=0)


# --- marks and value labels ---------------------------------------------------------------------


def test_one_bar_and_one_value_label_per_value():
    root = parse(bar_chart(MONTHS, sample(), title="t"))
    for j, s in enumerate(sample()):
        bars = [el for el in series_group(root, j) if el.get("class") == "bar"]
        expected = [format_value(v) for v in s.values if v is not None]
        assert len(bars) == len(expected)
        assert value_texts(root, j) == expected
    assert value_texts(root, 0) == ["3", "5", "7", "2", "4"]
    assert value_texts(root, 1) == ["1", "2", "6", "0", "3"]


def test_one_marker_and_one_value_label_per_point():
    root = parse(line_chart(MONTHS, sample(), title="t"))
    for j, s in enumerate(sample()):
        present = [v for v in s.values if v is not None]
        assert len(markers(root, j)) == len(present)
        assert value_texts(root, j) == [format_value(v) for v in present]


def test_none_splits_the_line_into_segments():
    labels = ["a", "b", "c", "d", "e"]
    root = parse(
        line_chart(
            labels,
            [
                Series("两段", [1, 2, None, 3, 4]),
                Series("孤点", [1, None, 2, None, None]),
                Series("连续", [1, 2, 3, 4, 5]),
            ],
            title="t",
        )
    )
    first, second = polylines(root, 0)
    assert len(first.get("points").split()) == 2
    assert len(second.get("points").split()) == 2
    assert polylines(root, 1) == []  # isolated points: markers only, nothing to join
    assert len(markers(root, 1)) == 2
    assert len(polylines(root, 2)) == 1
    assert len(polylines(root, 2)[0].get("points").split()) == 5


def test_nan_counts_as_no_data():
    root = parse(bar_chart(["a", "b"], [Series("s", [float("nan"), 2])], title="t"))
    assert value_texts(root, 0) == ["2"]


def test_non_integer_counts_get_one_decimal():
    assert format_value(3.0) == "3"
    assert format_value(2.25) == "2.2"
    assert format_value(0) == "0"


# --- percent ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label", "desc"),
    [
        (0.875, "87%", "87.5%"),  # floored, never rounded up
        (0.999, "99%", "99.9%"),  # a rate reads 100% only when everything is done
        (1.0, "100%", "100.0%"),
        (0.29, "29%", "29.0%"),  # 0.29 × 100 = 28.999…: binary noise is not floored away
        (0.0, "0%", "0.0%"),
    ],
)
def test_percent_labels_are_floored(value, label, desc):
    assert format_value(value, percent=True) == label
    assert format_value(value, percent=True, decimals=1) == desc


@pytest.mark.parametrize("chart", CHARTS)
def test_percent_chart_labels_and_axis(chart):
    root = parse(chart(["2026-10", "2026-11"], [Series("办结率", [0.875, 0.5])], title="t", percent=True))
    assert value_texts(root, 0) == ["87%", "50%"]
    assert y_axis_labels(root) == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert "2026年10月 办结率 87.5%" in root.find(q("desc")).text


def test_percent_axis_follows_y_max_and_data_above_100():
    root = parse(bar_chart(["a"], [Series("s", [0.3])], title="t", percent=True, y_max=0.5))
    assert y_axis_labels(root)[-1] == "50%"
    root = parse(bar_chart(["a"], [Series("s", [1.3])], title="t", percent=True))
    assert y_axis_labels(root)[-1] == "150%"


# --- y axis -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_max", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (5, [0, 1, 2, 3, 4, 5]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (11, [0, 5, 10, 15]),
        (100, [0, 20, 40, 60, 80, 100]),
        (101, [0, 50, 100, 150]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_nice_ticks(data_max, ticks):
    assert nice_ticks(data_max) == ticks


def test_count_axis_is_labelled_with_nice_ticks():
    root = parse(line_chart(MONTHS, sample(), title="t"))  # data max 7
    assert y_axis_labels(root) == ["0", "2", "4", "6", "8"]


def test_y_max_is_a_floor_for_the_axis_top():
    root = parse(line_chart(MONTHS, sample(), title="t", y_max=20))
    assert y_axis_labels(root)[-1] == "20"
    root = parse(line_chart(MONTHS, sample(), title="t", y_max=3))  # data go higher
    assert y_axis_labels(root)[-1] == "8"


def test_marks_stay_inside_the_plot():
    root = parse(bar_chart(MONTHS, sample(), title="t"))
    baseline = next(el for el in root.iter(q("line")) if el.get("stroke") == "#666666")
    bottom = float(baseline.get("y1"))
    for el in series_group(root, 0):
        assert float(el.get("y")) + float(el.get("height")) == pytest.approx(bottom, abs=0.02)
        assert float(el.get("y")) > 0


# --- x axis -------------------------------------------------------------------------------------


def test_x_labels_shorten_months_within_a_year():
    """One style throughout: 2025年11月 where the year matters, 12月 where it does not."""
    root = parse(
        bar_chart(["2025-11", "2025-12", "2026-01", "2026-02"], [Series("s", [1, 2, 3, 4])], title="t")
    )
    assert x_axis_labels(root) == ["2025年11月", "12月", "2026年1月", "2月"]
    assert not any("-" in label for label in x_axis_labels(root))


def test_more_than_12_labels_shows_every_second():
    labels = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    root = parse(line_chart(labels, [Series("s", list(range(24)))], title="t"))
    assert x_axis_labels(root) == ["2025年1月", *[f"{m}月" for m in (3, 5, 7, 9, 11)], "2026年1月"] + [
        f"{m}月" for m in (3, 5, 7, 9, 11)
    ]
    root = parse(line_chart(labels[:12], [Series("s", list(range(12)))], title="t"))
    assert len(x_axis_labels(root)) == 12


def test_large_scale_thins_x_labels_further():
    labels = [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)]
    shown = x_axis_labels(parse(line_chart(labels, [Series("s", list(range(24)))], title="t", scale=2)))
    assert 1 < len(shown) < 12


def test_shown_x_labels_keeps_non_month_labels():
    assert shown_x_labels(["第一季度", "第二季度", "第三季度"], 2) == {0: "第一季度", 2: "第三季度"}


# --- legend, palette, shapes --------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_legend_lists_every_series_in_order(chart):
    root = parse(chart(MONTHS, sample(), title="t"))
    assert legend_names(root) == ["办结事项", "新增事项", "逾期事项"]


def test_line_series_use_okabe_ito_colours_markers_and_dashes():
    series = [Series(f"s{j}", [1, 2, 3]) for j in range(4)]
    root = parse(line_chart(["a", "b", "c"], series, title="t"))
    lines = [polylines(root, j)[0] for j in range(4)]
    assert [line.get("stroke") for line in lines] == list(PALETTE[:4])
    dashes = [line.get("stroke-dasharray") for line in lines]
    assert dashes[0] is None  # solid
    assert len(set(dashes)) == 4
    shapes = []
    for j in range(4):
        marker = markers(root, j)[0]
        shapes.append((marker.tag, len(marker.get("points", "").split())))
    assert shapes == [(q("circle"), 0), (q("rect"), 0), (q("polygon"), 3), (q("polygon"), 4)]


def test_bar_series_use_distinct_fills_defined_in_the_chart():
    series = [Series(f"s{j}", [1, 2]) for j in range(4)]
    root = parse(bar_chart(["a", "b"], series, title="t"))
    fills = [series_group(root, j)[0].get("fill") for j in range(4)]
    assert fills[0] == PALETTE[0]  # series 0: solid
    assert all(f.startswith("url(#") for f in fills[1:])
    assert len(set(fills)) == 4
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for fill in fills[1:]:
        assert fill[len("url(#") : -1] in ids
    strokes = [series_group(root, j)[0].get("stroke") for j in range(4)]
    assert strokes == list(PALETTE[:4])
    patterns = list(root.iter(q("pattern")))
    assert len(patterns) == 3
    assert {len(list(p)) for p in patterns} == {2}  # white background + the series' mark


def test_pattern_ids_differ_between_charts_in_one_page():
    a = parse(bar_chart(MONTHS, sample(), title="办结", testid="a"))
    b = parse(bar_chart(MONTHS, sample(), title="新增", testid="b"))
    c = parse(
        bar_chart(MONTHS[:3], [Series("x", [1, 2, 3]), Series("y", [3, 2, 1])], title="办结", testid="a")
    )
    ids = [[el.get("id") for el in root.iter() if el.get("id")] for root in (a, b, c)]
    assert all(ids)
    assert all(len(set(chart_ids)) == len(chart_ids) for chart_ids in ids)
    assert not set(ids[0]) & set(ids[1])
    assert not set(ids[0]) & set(ids[2])
    for root in (a, b, c):
        chart_ids = {el.get("id") for el in root.iter() if el.get("id")}
        refs = set(re.findall(r"url\(#([^)]+)\)", ET.tostring(root, encoding="unicode")))
        assert refs <= chart_ids


# --- escaping, embedding, scale -----------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
def test_text_is_escaped_and_round_trips(chart):
    name, label, title = "A<&>\"B'", "x<y&z", '图 <1> & "2"'
    root = parse(chart([label, "b"], [Series(name, [1, 2])], title=title, testid='t"<'))
    assert legend_names(root) == [name]
    assert root.get("aria-label") == title
    assert root.find(q("title")).text == title
    assert root.get("data-testid") == 't"<'
    assert x_axis_labels(root)[0] == label
    assert f"{label} {name} 1" in root.find(q("desc")).text


@pytest.mark.parametrize("chart", CHARTS)
def test_no_url_but_the_svg_namespace_and_no_inline_style(chart):
    text = str(chart(MONTHS, sample(), title="t", percent=False))
    assert set(re.findall(r"[a-z][a-z0-9+.-]*://[^\s\"'<>]*", text, re.IGNORECASE)) == {NS}
    assert "style=" not in text
    assert "<script" not in text
    assert "@import" not in text


@pytest.mark.parametrize("chart", CHARTS)
def test_scale_doubles_font_sizes_and_strokes(chart):
    one = parse(chart(MONTHS, sample(), title="t"))
    two = parse(chart(MONTHS, sample(), title="t", scale=2))
    assert two.get("viewBox") == one.get("viewBox")
    sizes_one = {float(t.get("font-size")) for t in one.iter(q("text"))}
    sizes_two = {float(t.get("font-size")) for t in two.iter(q("text"))}
    assert sizes_one == {11.0, 9.0}  # axis and legend, value labels
    assert sizes_two == {2 * s for s in sizes_one}
    assert [float(t.get("font-size")) for t in two.iter(q("text")) if t.get("class") == "value"] == [
        2 * float(t.get("font-size")) for t in one.iter(q("text")) if t.get("class") == "value"
    ]
    assert float(two.get("font-size")) == 2 * float(one.get("font-size"))
    marks_one = [el.get("stroke-width") for el in series_group(one, 1)]
    marks_two = [el.get("stroke-width") for el in series_group(two, 1)]
    assert [float(w) for w in marks_two] == [2 * float(w) for w in marks_one]


# --- no data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chart", CHARTS)
@pytest.mark.parametrize(
    ("labels", "series"),
    [
        ([], []),
        ([], [Series("s", [])]),
        (MONTHS, []),
        (MONTHS, [Series("s", [None] * 6), Series("t", [None] * 6)]),
    ],
)
def test_no_data_says_so(chart, labels, series):
    root = parse(chart(labels, series, title="空图", testid="empty"))
    texts = [t.text for t in root.iter(q("text"))]
    assert texts == [EMPTY_TEXT]
    assert root.get("aria-label") == "空图"
    assert root.find(q("title")).text == "空图"
    assert root.find(q("desc")).text == EMPTY_TEXT
    assert root.get("data-testid") == "empty"
    assert not [g for g in root.iter(q("g")) if g.get("class") == "series"]


def test_height_sets_the_view_box_and_is_bounded():
    """A taller view box for phones: the plot grows, the width stays 640."""
    tall = parse(bar_chart(["1月", "2月"], [Series("办结", [1, 2])], title="t", height=420))
    assert tall.get("viewBox") == "0 0 640 420"
    short = parse(bar_chart(["1月", "2月"], [Series("办结", [1, 2])], title="t"))

    def tallest(svg: ET.Element) -> float:
        return max(float(r.get("height")) for r in svg.iter(q("rect")) if "bar" in (r.get("class") or ""))

    assert tallest(tall) > tallest(short)
    with pytest.raises(ValueError):
        line_chart(["1月"], [Series("a", [1])], title="t", height=50)
