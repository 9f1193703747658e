"""The layout of an indicator sheet as courts export it from their case-management
system: title rows above the header (skipped: the header is the first row whose first
cell, after a 序号 column, reads 单位/法院/单位名称), headers merged over two rows
(结案率 over 分子 | 分母, 案件平均审理天数 over 数值 | 结案数) or written in one (结案率分子,
结案率（分母）, JAL-分子), an indicator named by its name or its code. A column nobody
can place is an error of the whole file (unless it is empty), never silently dropped.

The file itself is refused (ImportFormatError, 400) when it is not a sheet at all: too
large, a zip that unpacks to far more than a sheet, too many rows, a control character
(NUL) or a cell longer than any title, unit name or figure."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from app.importing import ImportFormatError, read_table
from app.indicators.models import Indicator

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000  # data rows
UNPACKED_MAX = 40 * 1024 * 1024  # an .xlsx's parts unpacked: a 2 MB zip may not hide a gigabyte
CELL_MAX = 1000  # characters: no title, unit name or figure is longer
HEADER_SCAN = 30  # rows looked through for the header
UNIT_HEADERS = {"单位", "法院", "单位名称", "法院名称"}
LEADING = {"序号", "编号"}  # columns a system may put before the unit's
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]|_x000[0-8bcefBCEF]_|_x001[0-9a-fA-F]_")
TITLE_MONTH_RE = re.compile(r"(20\d\d)\s*年\s*(\d{1,2})\s*月")
BRACKETED_RE = re.compile(r"(.+?)[（(【\[]([^（()）【】\[\]]+)[)）】\]]")
LABELS = {"numerator": "分子", "denominator": "分母", "value": "数值", "weight": "权数"}
NEEDS = {"ratio": ("numerator", "denominator"), "mean": ("value", "weight"), "sum": ("value",)}


def norm(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def cell(row: list[str], col: int) -> str:
    return row[col] if col < len(row) else ""


def col_name(c: int) -> str:
    from openpyxl.utils import get_column_letter  # openpyxl reads the sheet; loaded by then

    return f"第 {get_column_letter(c + 1)} 列"


def _weight_words(ind: Indicator) -> set[str]:
    return {"权数", norm(ind.weight_label or "")} - {""}


def _field(ind: Indicator, word: str) -> str | None:
    """What a sub-header (分子, 结案数 …) means for this indicator; "" = its only column."""
    if ind.aggregate == "ratio":
        return {"分子": "numerator", "分母": "denominator"}.get(word)
    if word in ("", "数值", "值", "平均值"):
        return "value"
    return "weight" if ind.aggregate == "mean" and word in _weight_words(ind) else None


def _hint(ind: Indicator) -> str:
    if ind.aggregate == "ratio":
        return f"“{ind.name}”是比率，请分“分子”“分母”两列填写（不填比率本身）"
    if ind.aggregate == "mean":
        return f"“{ind.name}”是平均值，请分“数值”“{ind.weight_label or '权数'}”两列填写"
    return f"“{ind.name}”只填一列数值"


@dataclass
class Group:
    """The columns of one indicator: {field: column index}."""

    ind: Indicator
    cols: dict[str, int] = field(default_factory=dict)


class Catalogue:
    """The month's indicators, found by name (whitespace aside) or code (any case)."""

    def __init__(self, indicators: list[Indicator]) -> None:
        self.indicators = indicators
        self.keys: dict[str, Indicator] = {}
        for ind in indicators:
            self.keys[norm(ind.name)] = ind
            self.keys.setdefault(ind.code.upper(), ind)
        self.words = sorted(
            {"分子", "分母", "数值", "权数", *(w for i in indicators for w in _weight_words(i))}
        )

    def find(self, text: str) -> Indicator | None:
        return self.keys.get(text) or self.keys.get(text.upper())

    def split(self, text: str) -> tuple[Indicator, str] | None:
        """结案率分子, 结案率（分子）, JAL-分子 → (结案率, 分子)."""
        m = BRACKETED_RE.fullmatch(text)
        if m and self.find(m[1]):
            return self.find(m[1]), m[2]
        for word in sorted(self.words, key=len, reverse=True):
            base = text[: -len(word)].rstrip("-_·—:：/")
            if text.endswith(word) and base and self.find(base):
                return self.find(base), word
        return None


def _find_header(table: list[list[str]]) -> tuple[int, int]:
    """(header row, unit column): the first row whose first cell (after 序号) is 单位."""
    for i, row in enumerate(table[:HEADER_SCAN]):
        for c, text in enumerate(row):
            t = norm(text)
            if not t or t in LEADING:
                continue
            if t in UNIT_HEADERS:
                return i, c
            break
    raise ImportFormatError(
        "没有找到表头：表头行的第一格应为“单位”（或“法院”“单位名称”），其后各列为指标名称或代码。"
        "请使用导入模板，或检查文件的前几行。"
    )


def _has_sub(table: list[list[str]], h: int, unit_col: int, cat: Catalogue) -> bool:
    """Whether the row under the header is its second row (分子/分母 …), not data."""
    if h + 1 >= len(table):
        return False
    row = table[h + 1]
    first = norm(cell(row, unit_col))
    if first == norm(table[h][unit_col]):
        return True  # 单位 merged down over both header rows
    return not first and any(norm(x) in cat.words for x in row[unit_col + 1 :])


def _columns(
    top: list[str], sub: list[str], unit_col: int, data: list[tuple[int, list[str]]], cat: Catalogue
) -> tuple[list[Group], list[str]]:
    """The indicators' columns, and what is wrong with the header."""
    groups: dict[int, Group] = {}
    errors: list[str] = []
    current: Group | None = None

    def empty(c: int) -> bool:
        return not any(cell(r, c).strip() for _, r in data)

    for c in range(unit_col + 1, max(len(top), len(sub))):
        t, s = norm(cell(top, c)), norm(cell(sub, c))
        s = "" if s == t else s  # an indicator's single column merged down both rows
        if not t:
            if not s or current is None:
                current = None
                if not empty(c):
                    what = f"“{s[:30]}”不属于任何指标" if s else "没有表头"
                    errors.append(f"{col_name(c)}{what}，但填有数据：请补上指标名称，或删除该列。")
                continue
            ind, word = current.ind, s
        else:
            ind, word = cat.find(t), s
            if ind is None:
                split = cat.split(t)
                if split is None:
                    current = None
                    if not empty(c):
                        errors.append(
                            f"{col_name(c)}“{t[:30]}”不是 {cat.indicators[0].year} 年指标目录中的指标名称或代码。"
                        )
                    continue
                ind, word = split
            current = groups.setdefault(ind.id, Group(ind))
        what = _field(ind, word)
        if what is None:
            errors.append(f"{col_name(c)}“{(t or s)[:30]}”：{_hint(ind)}。")
        elif what in current.cols:
            errors.append(
                f"“{ind.name}”的{LABELS[what]}出现了两列（{col_name(current.cols[what])}和{col_name(c)}）。"
            )
        else:
            current.cols[what] = c
    for g in groups.values():
        missing = [LABELS[f] for f in NEEDS[g.ind.aggregate] if f not in g.cols]
        if missing and g.cols:  # no column at all: its header was refused above
            errors.append(f"“{g.ind.name}”缺少“{'”“'.join(missing)}”列：{_hint(g.ind)}。")
    return [g for g in groups.values() if g.cols], errors


def _check_file(filename: str, data: bytes) -> list[list[str]]:
    if len(data) > MAX_BYTES:
        raise ImportFormatError(f"文件过大（{len(data) / 1024 / 1024:.1f} MB），一次最多上传 2 MB。")
    if data[:4] == b"PK\x03\x04":
        try:
            unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
        except (zipfile.BadZipFile, OSError, ValueError):
            unpacked = 0  # read_table says what is wrong with it
        if unpacked > UNPACKED_MAX:
            raise ImportFormatError("文件解压后过大，不像是指标数据表，请检查后重新上传。")
    table = read_table(filename, data, max_rows=MAX_ROWS + HEADER_SCAN)
    for r, row in enumerate(table, start=1):
        for c, text in enumerate(row):
            if len(text) > CELL_MAX:
                raise ImportFormatError(
                    f"第 {r} 行{col_name(c)}的内容过长（{len(text)} 字），不像是指标数据表。"
                )
            if CONTROL_RE.search(text):
                raise ImportFormatError(
                    f"第 {r} 行{col_name(c)}含有控制字符（如 NUL），请检查文件后重新上传。"
                )
    return table


@dataclass
class Sheet:
    """What was found: the unit column, each indicator's columns, what is wrong with the
    header, the data rows (spreadsheet row number, cells) and the months the title says."""

    unit_col: int
    groups: list[Group]
    errors: list[str]
    rows: list[tuple[int, list[str]]]
    title_months: set[str]


def read_sheet(filename: str, data: bytes, indicators: list[Indicator]) -> Sheet:
    """The sheet's layout, or ImportFormatError when it cannot be read as one."""
    cat = Catalogue(indicators)
    table = _check_file(filename, data)
    h, unit_col = _find_header(table)
    sub = table[h + 1] if _has_sub(table, h, unit_col, cat) else []
    start = h + (2 if sub else 1)
    rows = [(i + 1, r) for i, r in enumerate(table[start:], start=start) if any(x.strip() for x in r)]
    if not rows:
        raise ImportFormatError("表头下面没有数据行。")
    if len(rows) > MAX_ROWS:
        raise ImportFormatError(f"数据行过多（{len(rows)} 行），一次最多导入 {MAX_ROWS} 行。")
    groups, errors = _columns(table[h], sub, unit_col, rows, cat)
    if not groups and not errors:
        raise ImportFormatError("表头中没有找到任何指标列：请写指标名称或代码（见导入模板）。")
    months = {
        f"{int(y):04d}-{int(m):02d}" for row in table[:h] for x in row for y, m in TITLE_MONTH_RE.findall(x)
    }
    return Sheet(unit_col, groups, errors, rows, months)
