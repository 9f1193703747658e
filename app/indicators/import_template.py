"""The import template: the actor's courts as rows, the month's indicators as columns,
headers over two rows as courts' systems write them (结案率 over 分子 | 分母) — and the
importer reads it back as it is.

Written through the one XLSX writer (`Book`): its formats, title row and print setup.
`Book.sheet` writes a single header row, so the sheet is laid out here on the book's
workbook with Book's own helpers; a second sheet, written by `Book.sheet`, says how to
fill it in."""

from __future__ import annotations

from typing import Any

from app import authz
from app.errors import ServiceError
from app.exports.xlsx import Book, Column, column_width, month_text, row_height, sheet_class, text_lines
from app.indicators.models import LEVELS, Indicator
from app.indicators.values import catalogue_for
from app.org.queries import subtree_units

UNIT_WIDTH = 26
FIGURE_WIDTH = 11
TOP, SUB = 1, 2  # the header rows (0-based; the title is row 0)


def _sub_headers(ind: Indicator) -> list[str]:
    """The second header row under an indicator: its columns."""
    if ind.aggregate == "ratio":
        return ["分子", "分母"]
    if ind.aggregate == "mean":
        return ["数值", ind.weight_label or "权数"]
    return [""]


def _how(ind: Indicator) -> str:
    if ind.aggregate == "ratio":
        return "填分子和分母（件数），系统计算比率；分母为 0 时留空不报"
    if ind.aggregate == "mean":
        return f"填平均值（{ind.unit_label}）和{ind.weight_label or '权数'}，上级按{ind.weight_label or '权数'}加权汇总"
    return f"填{ind.unit_label}数（整数）"


def template_units(actor: Any, indicators: list[Indicator]) -> list[Any]:
    """The actor's court and those below it that report at least one indicator and
    whose figures the actor may enter, in tree order."""
    levels = {lv for ind in indicators for lv in (ind.levels or [])}
    return [
        row.unit
        for row in subtree_units(actor, include_inactive=False)
        if row.unit.level in levels and authz.can(actor, "indicator.enter", row.unit)
    ]


def template_xlsx(actor: Any, month: str) -> bytes:
    """The month's import template for the actor's courts (an .xlsx)."""
    indicators = catalogue_for(month)
    if not indicators:
        raise ServiceError(f"{month[:4]} 年还没有指标目录，无法生成导入模板。", "month")
    title = f"{actor.unit.name} {month_text(month)} 审判质效指标数据"
    book = Book(title)
    widths = [UNIT_WIDTH] + [FIGURE_WIDTH for ind in indicators for _ in _sub_headers(ind)]
    ws = book.workbook.add_worksheet("指标数据", worksheet_class=sheet_class())
    for col, width in enumerate(widths):
        ws.set_column(col, col, column_width(width))
    book._title_row(ws, title, [Column("", w) for w in widths], sum(widths))
    head = book._header_format
    ws.merge_range(TOP, 0, SUB, 0, "单位", head("单位"))
    col, lines = 1, 1
    for ind in indicators:
        subs = _sub_headers(ind)
        if len(subs) == 1:
            ws.merge_range(TOP, col, SUB, col, ind.name, head(ind.name))
        else:
            ws.merge_range(TOP, col, TOP, col + len(subs) - 1, ind.name, head(ind.name))
            for i, text in enumerate(subs):
                ws.write_string(SUB, col + i, text, head(text))
        lines = max(lines, text_lines(ind.name, FIGURE_WIDTH * len(subs)))
        col += len(subs)
    ws.set_row(TOP, row_height(lines))
    ws.freeze_panes(SUB + 1, 1)
    book._print_setup(ws, True, SUB)
    ws.repeat_rows(TOP, SUB)  # both header rows on every printed page
    name_format = book._format(**Book._box(), valign="top")
    blank = book._format(**Book._box(), valign="top", align="right")
    for row, unit in enumerate(template_units(actor, indicators), start=SUB + 1):
        ws.write_string(row, 0, unit.name, name_format)
        for c in range(1, len(widths)):
            ws.write_blank(row, c, None, blank)
    book.sheet(
        "填写说明",
        [Column("指标", 30), Column("代码", 12), Column("适用层级", 28), Column("填写方法", 60)],
        [
            [ind.name, ind.code, "、".join(LEVELS.get(lv, lv) for lv in ind.levels or []), _how(ind)]
            for ind in indicators
        ],
        title=f"{month_text(month)} 审判质效指标导入：填写说明",
        period="",
    )
    return book.to_bytes()
