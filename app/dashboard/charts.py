"""Server-rendered SVG charts for the dashboard: no JavaScript, no network, no library.

`line_chart` and `bar_chart` return one `<svg>` element as `Markup`, ready to drop
into a template. Every chart is readable without colour and on paper:

- colours come from the Okabe–Ito palette (colour-blind safe), one per series;
- every series also has its own shape — line charts a point marker and a dash
  pattern, bar charts a fill (solid, diagonal hatch, dots, …) — so a greyscale
  print still tells the series apart;
- every point and bar carries its value as text, and `<desc>` lists every data
  point for screen readers.

Sizes: the view box is always 640×260; `scale` multiplies font sizes, stroke
widths, marker sizes and fill-pattern tiles (for a wall display read from three
metres), and the margins follow the fonts.

Numbers: counts are shown as integers (one decimal when not whole). Percent
values are fractions 0..1; the value labels on the chart are *floored* to whole
percent (0.875 → "87%", 0.999 → "99%": a rate never reads 100% before everything
is done) and `<desc>` floors to one decimal ("87.5%").

The y axis always starts at 0. Its top is the smallest multiple of a step of
1, 2 or 5 × 10^n (never below 1) that covers the data in at most 5 intervals —
data max 7 → 0, 2, 4, 6, 8; 11 → 0, 5, 10, 15; 100 → 0, 20, …, 100. Percent
axes go to 100% (or `y_max`, if given) unless the data go higher. `y_max` is a
floor for the axis top in data units, to draw several charts on one scale.

Fill patterns need element ids; they are prefixed with a hash of the chart's
kind, title, test id and data, so output is deterministic and two different
charts in one page never clash (two identical charts share identical patterns).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = [
    "EMPTY_TEXT",
    "Series",
    "bar_chart",
    "format_value",
    "line_chart",
    "month_label",
    "nice_ticks",
    "shown_x_labels",
]

WIDTH = 640
HEIGHT = 260
SVG_NS = "http://www.w3.org/2000/svg"

# Okabe & Ito (2008): blue, vermillion, bluish green, orange, reddish purple, sky blue.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9")
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "cross")
DASHES: tuple[tuple[float, ...], ...] = ((), (6, 4), (2, 3), (8, 3, 2, 3))  # at scale 1
FILLS = ("solid", "hatch", "dots", "crosshatch", "hlines", "vlines")

FONT_FAMILY = "'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif"
EMPTY_TEXT = "暂无数据"
AXIS_FONT = 11.0
LEGEND_FONT = 11.0
VALUE_FONT = 9.0
EMPTY_FONT = 14.0
LINE_WIDTH = 2.0
MARKER_RADIUS = 3.5
PATTERN_TILE = 6.0
TEXT_COLOUR = "#333333"
GRID_COLOUR = "#DDDDDD"
AXIS_COLOUR = "#666666"
MAX_INTERVALS = 5
MAX_FULL_X_LABELS = 12

_YEAR_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


@dataclass
class Series:
    """One series: a legend name and one value per x label (None = no data)."""

    name: str
    values: list[float | None]


# --- public helpers -------------------------------------------------------------------------------


def nice_ticks(max_value: float) -> list[float]:
    """Y-axis ticks 0..top: the smallest step of 1, 2 or 5 × 10^n (≥ 1) with at most 5 intervals."""
    target = max(float(max_value), 1.0) if math.isfinite(max_value) else 1.0
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            step = mantissa * 10**exponent
            intervals = math.ceil(target / step - 1e-9)
            if intervals <= MAX_INTERVALS:
                return [float(step * i) for i in range(intervals + 1)]
        exponent += 1


def format_value(value: float, *, percent: bool = False, decimals: int = 0) -> str:
    """A value as text: counts as integers (one decimal when not whole); percent floored."""
    if percent:
        shown = _floor(value * 100, decimals)
        return f"{shown:.{decimals}f}%" if decimals else f"{int(shown)}%"
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.1f}"


def line_chart(
    labels: list[str],
    series: list[Series],
    *,
    title: str,
    percent: bool = False,
    y_max: float | None = None,
    scale: float = 1.0,
    testid: str = "",
    height: int = HEIGHT,
) -> Markup:
    """A line chart: one polyline per run of consecutive values (None leaves a gap), with markers.
    `height`: the view box's height (the width is always 640) — taller for a phone."""
    return _chart(
        "line",
        labels,
        series,
        title=title,
        percent=percent,
        y_max=y_max,
        scale=scale,
        testid=testid,
        height=height,
    )


def bar_chart(
    labels: list[str],
    series: list[Series],
    *,
    title: str,
    percent: bool = False,
    y_max: float | None = None,
    scale: float = 1.0,
    testid: str = "",
    height: int = HEIGHT,
) -> Markup:
    """A grouped bar chart: one bar per label and series (None leaves the slot empty)."""
    return _chart(
        "bar",
        labels,
        series,
        title=title,
        percent=percent,
        y_max=y_max,
        scale=scale,
        testid=testid,
        height=height,
    )


# --- rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """The plot area in view-box units and the value → y mapping."""

    left: float
    top: float
    right: float
    bottom: float
    n: int
    y_top: float  # axis top, in display units (percent × 100)
    factor: float  # data units → display units

    @property
    def band(self) -> float:
        return (self.right - self.left) / self.n

    def x(self, i: int) -> float:
        return self.left + self.band * (i + 0.5)

    def y(self, value: float) -> float:
        shown = min(max(value * self.factor, 0.0), self.y_top)
        return self.bottom - shown / self.y_top * (self.bottom - self.top)


def _chart(
    kind: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    percent: bool,
    y_max: float | None,
    scale: float,
    testid: str,
    height: int = HEIGHT,
) -> Markup:
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number, not {scale!r}")
    if not 100 <= height <= 2000:
        raise ValueError(f"height must be between 100 and 2000, not {height!r}")
    labels = [str(label) for label in labels]
    values = _clean_values(labels, series)
    prefix = _id_prefix(kind, title, testid, labels, series, values, percent, y_max, scale, height)

    root = {
        "xmlns": SVG_NS,
        "viewBox": f"0 0 {WIDTH} {height}",
        "width": "100%",
        "preserveAspectRatio": "xMidYMid meet",
        "role": "img",
        "aria-label": title,
        "class": "chart",
        "data-chart": kind,
        "data-testid": testid or None,
        "font-family": FONT_FAMILY,
        "font-size": AXIS_FONT * scale,
    }
    has_data = any(v is not None for row in values for v in row)
    head = _el("title", {}, _text(title)) + _el("desc", {}, _text(_describe(labels, series, values, percent)))
    if not has_data:
        body = _el(
            "text",
            {
                "class": "empty",
                "x": WIDTH / 2,
                "y": height / 2 + EMPTY_FONT * scale * 0.35,
                "text-anchor": "middle",
                "font-size": EMPTY_FONT * scale,
                "fill": AXIS_COLOUR,
            },
            _text(EMPTY_TEXT),
        )
    else:
        body = _plot(kind, labels, series, values, prefix, percent, y_max, scale, height)
    return Markup(_el("svg", root, head + body))


def _clean_values(labels: Sequence[str], series: Sequence[Series]) -> list[list[float | None]]:
    rows: list[list[float | None]] = []
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
        rows.append([float(v) if v is not None and math.isfinite(v) else None for v in s.values])
    return rows


def _id_prefix(kind: str, title: str, testid: str, *data: object) -> str:
    raw = repr((kind, title, testid, data)).encode("utf-8")
    digest = hashlib.sha1(raw, usedforsecurity=False).hexdigest()  # an element id, not a secret
    return f"chart-{digest[:10]}"


def _describe(
    labels: Sequence[str], series: Sequence[Series], values: Sequence[Sequence[float | None]], percent: bool
) -> str:
    points = [
        f"{month_label(label)} {s.name} {format_value(row[i], percent=percent, decimals=1)}"
        for i, label in enumerate(labels)
        for s, row in zip(series, values, strict=True)
        if row[i] is not None
    ]
    return "；".join(points) if points else EMPTY_TEXT


def _plot(
    kind: str,
    labels: list[str],
    series: Sequence[Series],
    values: list[list[float | None]],
    prefix: str,
    percent: bool,
    y_max: float | None,
    scale: float,
    height: int = HEIGHT,
) -> str:
    pad = 6 * scale
    axis_fs = AXIS_FONT * scale
    value_fs = VALUE_FONT * scale

    factor = 100.0 if percent else 1.0
    data_max = max(v for row in values for v in row if v is not None) * factor
    floor = y_max * factor if y_max is not None else (100.0 if percent else 0.0)
    ticks = nice_ticks(max(data_max, floor))
    tick_labels = [format_value(t / factor, percent=percent) for t in ticks]

    defs = _patterns(series, prefix, scale) if kind == "bar" else ""
    legend, legend_h = _legend(kind, series, prefix, pad, pad, WIDTH - pad, scale)

    left = pad + max(_text_width(t, axis_fs) for t in tick_labels) + 5 * scale
    top = pad + legend_h + value_fs + 6 * scale
    bottom = height - pad - axis_fs - 4 * scale
    bottom = max(bottom, top + 10)
    frame = _Frame(left, top, WIDTH - pad - 4 * scale, bottom, len(labels), ticks[-1], factor)

    grid = _grid(frame, ticks, tick_labels, scale) + _x_labels(frame, labels, scale)
    if kind == "bar":
        marks, texts = _bars(frame, series, values, prefix, percent, scale)
    else:
        marks, texts = _lines(frame, series, values, percent, scale)
    return (_el("defs", {}, defs) if defs else "") + legend + grid + marks + texts


def _grid(frame: _Frame, ticks: list[float], tick_labels: list[str], scale: float) -> str:
    fs = AXIS_FONT * scale
    parts = []
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = frame.y(tick / frame.factor)
        baseline = tick == 0
        parts.append(
            _el(
                "line",
                {
                    "x1": frame.left,
                    "y1": y,
                    "x2": frame.right,
                    "y2": y,
                    "stroke": AXIS_COLOUR if baseline else GRID_COLOUR,
                    "stroke-width": scale,
                },
            )
        )
        parts.append(
            _el(
                "text",
                {
                    "x": frame.left - 4 * scale,
                    "y": y + fs * 0.35,
                    "text-anchor": "end",
                    "font-size": fs,
                    "fill": TEXT_COLOUR,
                },
                _text(label),
            )
        )
    return _el("g", {"class": "y-axis"}, "".join(parts))


def month_label(label: str, *, year: bool = True) -> str:
    """A month in Chinese: "2026-02" → "2026年2月" (or "2月" without the year); any other
    label as it is."""
    match = _YEAR_MONTH.fullmatch(label)
    if not match:
        return label
    y, m = match.groups()
    return f"{y}年{int(m)}月" if year else f"{int(m)}月"


def shown_x_labels(labels: Sequence[str], every: int) -> dict[int, str]:
    """Every `every`-th label by index, months in one style: "2026年2月" where the year
    matters (the first, and where a new year starts), "4月" where it is the previous
    label's."""
    shown: dict[int, str] = {}
    last_year: str | None = None
    for i in range(0, len(labels), every):
        label = labels[i]
        match = _YEAR_MONTH.fullmatch(label)
        if match:
            year = match.group(1)
            shown[i] = month_label(label, year=year != last_year)
            last_year = year
        else:
            shown[i], last_year = label, None
    return shown


def _x_labels(frame: _Frame, labels: list[str], scale: float) -> str:
    """More than 12 labels: every second one; more still if two neighbours would touch
    (large `scale`, or a month with its year beside one without). A label that would
    run past either edge of the chart is aligned to that edge instead of centred."""
    fs = AXIS_FONT * scale
    every = 2 if len(labels) > MAX_FULL_X_LABELS else 1
    shown = shown_x_labels(labels, every)
    while every < len(labels) and _crowded(shown, frame.band, fs):
        every += 1
        shown = shown_x_labels(labels, every)
    parts = []
    for i, text in shown.items():
        x, anchor, half = frame.x(i), "middle", _text_width(text, fs) / 2
        if x - half < 0:
            x, anchor = max(x - frame.band / 2, 0), "start"
        elif x + half > WIDTH:
            x, anchor = min(x + frame.band / 2, WIDTH), "end"
        attrs = {"x": x, "y": frame.bottom + 3 * scale + fs, "text-anchor": anchor, "font-size": fs}
        parts.append(_el("text", {**attrs, "fill": TEXT_COLOUR}, _text(text)))
    return _el("g", {"class": "x-axis"}, "".join(parts))


def _crowded(shown: dict[int, str], band: float, fs: float) -> bool:
    """Two neighbouring labels, centred on their bands, would come closer than 10 % of
    the distance between their centres."""
    placed = sorted(shown.items())
    return any(
        (_text_width(a, fs) + _text_width(b, fs)) / 2 > (j - i) * band * 0.9
        for (i, a), (j, b) in zip(placed, placed[1:], strict=False)
    )


def _value_label(x: float, y: float, text: str, series_index: int, scale: float) -> str:
    return _el(
        "text",
        {
            "class": "value",
            "data-series": series_index,
            "x": x,
            "y": y,
            "text-anchor": "middle",
            "font-size": VALUE_FONT * scale,
            "fill": TEXT_COLOUR,
            "stroke": "#FFFFFF",
            "stroke-width": 2.5 * scale,
            "stroke-linejoin": "round",
            "paint-order": "stroke",
        },
        _text(text),
    )


def _bars(
    frame: _Frame,
    series: Sequence[Series],
    values: list[list[float | None]],
    prefix: str,
    percent: bool,
    scale: float,
) -> tuple[str, str]:
    inner = frame.band * 0.8
    slot = inner / len(series)
    gap = min(2.0, slot * 0.15)
    groups, texts = [], []
    for j, (s, row) in enumerate(zip(series, values, strict=True)):
        colour, fill = _colour(j), _fill(j, prefix)
        bars = []
        for i, value in enumerate(row):
            if value is None:
                continue
            x = frame.x(i) - inner / 2 + j * slot + gap / 2
            y = frame.y(value)
            bars.append(
                _el(
                    "rect",
                    {
                        "class": "bar",
                        "x": x,
                        "y": y,
                        "width": slot - gap,
                        "height": frame.bottom - y,
                        "fill": fill,
                        "stroke": colour,
                        "stroke-width": scale,
                    },
                )
            )
            texts.append(
                _value_label(
                    x + (slot - gap) / 2, y - 3 * scale, format_value(value, percent=percent), j, scale
                )
            )
        groups.append(_el("g", {"class": "series", "data-series": j, "data-name": s.name}, "".join(bars)))
    return "".join(groups), _el("g", {"class": "values"}, "".join(texts))


def _lines(
    frame: _Frame, series: Sequence[Series], values: list[list[float | None]], percent: bool, scale: float
) -> tuple[str, str]:
    radius = MARKER_RADIUS * scale
    groups, texts = [], []
    for j, (s, row) in enumerate(zip(series, values, strict=True)):
        colour = _colour(j)
        runs: list[list[tuple[float, float]]] = [[]]
        markers = []
        for i, value in enumerate(row):
            if value is None:
                if runs[-1]:
                    runs.append([])
                continue
            x, y = frame.x(i), frame.y(value)
            runs[-1].append((x, y))
            markers.append(_marker(j, x, y, radius, colour, scale, "marker"))
            texts.append(
                _value_label(x, y - radius * 1.3 - 3 * scale, format_value(value, percent=percent), j, scale)
            )
        lines = [
            _el(
                "polyline",
                {
                    "class": "line",
                    "points": " ".join(f"{_num(x)},{_num(y)}" for x, y in run),
                    "fill": "none",
                    "stroke": colour,
                    "stroke-width": LINE_WIDTH * scale,
                    "stroke-dasharray": _dash(j, scale),
                    "stroke-linejoin": "round",
                },
            )
            for run in runs
            if len(run) >= 2
        ]
        content = "".join(lines) + "".join(markers)
        groups.append(_el("g", {"class": "series", "data-series": j, "data-name": s.name}, content))
    return "".join(groups), _el("g", {"class": "values"}, "".join(texts))


def _legend(
    kind: str, series: Sequence[Series], prefix: str, x0: float, y0: float, max_x: float, scale: float
) -> tuple[str, float]:
    fs = LEGEND_FONT * scale
    row_h = fs * 1.6
    swatch_w = fs * 2.4 if kind == "line" else fs
    x, y = x0, y0
    items = []
    for j, s in enumerate(series):
        item_w = swatch_w + 4 * scale + _text_width(s.name, fs) + 14 * scale
        if x > x0 and x + item_w > max_x:
            x, y = x0, y + row_h
        cy = y + row_h / 2
        colour = _colour(j)
        if kind == "line":
            swatch = _el(
                "line",
                {
                    "x1": x,
                    "y1": cy,
                    "x2": x + swatch_w,
                    "y2": cy,
                    "stroke": colour,
                    "stroke-width": LINE_WIDTH * scale,
                    "stroke-dasharray": _dash(j, scale),
                },
            ) + _marker(j, x + swatch_w / 2, cy, MARKER_RADIUS * scale, colour, scale, "swatch")
        else:
            swatch = _el(
                "rect",
                {
                    "class": "swatch",
                    "x": x,
                    "y": cy - swatch_w / 2,
                    "width": swatch_w,
                    "height": swatch_w,
                    "fill": _fill(j, prefix),
                    "stroke": colour,
                    "stroke-width": scale,
                },
            )
        name = _el(
            "text",
            {"x": x + swatch_w + 4 * scale, "y": cy + fs * 0.35, "font-size": fs, "fill": TEXT_COLOUR},
            _text(s.name),
        )
        items.append(_el("g", {"class": "legend-item", "data-series": j}, swatch + name))
        x += item_w
    return _el("g", {"class": "legend"}, "".join(items)), (y - y0) + row_h


# --- shapes ---------------------------------------------------------------------------------------


def _colour(j: int) -> str:
    return PALETTE[j % len(PALETTE)]


def _dash(j: int, scale: float) -> str | None:
    pattern = DASHES[j % len(DASHES)]
    return " ".join(_num(d * scale) for d in pattern) if pattern else None


def _fill(j: int, prefix: str) -> str:
    return _colour(j) if FILLS[j % len(FILLS)] == "solid" else f"url(#{prefix}-fill{j})"


def _patterns(series: Sequence[Series], prefix: str, scale: float) -> str:
    t = PATTERN_TILE * scale
    w = 1.5 * scale
    parts = []
    for j in range(len(series)):
        kind, colour = FILLS[j % len(FILLS)], _colour(j)
        if kind == "solid":
            continue
        lines = {"stroke": colour, "stroke-width": w, "fill": "none"}
        if kind == "dots":
            mark = _el("circle", {"cx": t / 2, "cy": t / 2, "r": t * 0.22, "fill": colour})
        else:
            segments = {
                # the corner pieces keep the diagonal as thick at the tile edges as in the middle
                "hatch": [
                    (0, t, t, 0),
                    (-t / 4, t / 4, t / 4, -t / 4),
                    (t * 3 / 4, t * 5 / 4, t * 5 / 4, t * 3 / 4),
                ],
                "crosshatch": [(0, 0, t, t), (t, 0, 0, t)],
                "hlines": [(0, t / 2, t, t / 2)],
                "vlines": [(t / 2, 0, t / 2, t)],
            }[kind]
            mark = _el("path", {"d": _segments(segments)} | lines)
        background = _el("rect", {"width": t, "height": t, "fill": "#FFFFFF"})
        parts.append(
            _el(
                "pattern",
                {"id": f"{prefix}-fill{j}", "patternUnits": "userSpaceOnUse", "width": t, "height": t},
                background + mark,
            )
        )
    return "".join(parts)


def _marker(j: int, cx: float, cy: float, r: float, colour: str, scale: float, cls: str) -> str:
    shape = MARKERS[j % len(MARKERS)]
    common = {"class": cls, "fill": colour, "stroke": "#FFFFFF", "stroke-width": scale}
    if shape == "circle":
        return _el("circle", {"cx": cx, "cy": cy, "r": r} | common)
    if shape == "square":
        side = r * 1.8
        return _el("rect", {"x": cx - side / 2, "y": cy - side / 2, "width": side, "height": side} | common)
    if shape == "cross":
        arm = r * 1.2
        d = _segments([(cx - arm, cy, cx + arm, cy), (cx, cy - arm, cx, cy + arm)])
        return _el(
            "path", {"class": cls, "d": d, "fill": "none", "stroke": colour, "stroke-width": 2 * scale}
        )
    points = {
        "triangle": [(0, -1.3), (1.15, 0.75), (-1.15, 0.75)],
        "triangle-down": [(0, 1.3), (1.15, -0.75), (-1.15, -0.75)],
        "diamond": [(0, -1.35), (1.35, 0), (0, 1.35), (-1.35, 0)],
    }[shape]
    return _el(
        "polygon",
        {"points": " ".join(f"{_num(cx + dx * r)},{_num(cy + dy * r)}" for dx, dy in points)} | common,
    )


# --- text and numbers -----------------------------------------------------------------------------


def _floor(value: float, decimals: int) -> float:
    """Floor to `decimals` places, tolerant of binary noise (0.29 × 100 = 28.999…96 → 29)."""
    unit = 10**decimals
    return math.floor(value * unit + 1e-6) / unit


def _num(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, no "-0"."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _segments(segments: Sequence[tuple[float, float, float, float]]) -> str:
    """Path data for straight segments (x1, y1, x2, y2)."""
    return " ".join(f"M{_num(x1)},{_num(y1)} L{_num(x2)},{_num(y2)}" for x1, y1, x2, y2 in segments)


def _text(value: str) -> str:
    return str(escape(value))


def _text_width(text: str, size: float) -> float:
    """A rough width: CJK and other wide characters 1 em, digits 0.56, punctuation 0.35, the rest 0.6."""
    return size * sum(_char_width(c) for c in text)


def _char_width(c: str) -> float:
    if unicodedata.east_asian_width(c) in "WF":
        return 1.0
    if c.isdigit():
        return 0.56
    return 0.35 if c in "-.,:;/%()' " else 0.6


def _el(tag: str, attrs: dict[str, object], content: str | None = None) -> str:
    parts = [tag]
    for key, value in attrs.items():
        if value is None:
            continue
        text = _num(value) if isinstance(value, float) else str(value)
        parts.append(f'{key}="{escape(text)}"')
    opening = " ".join(parts)
    return f"<{opening}/>" if content is None else f"<{opening}>{content}</{tag}>"
