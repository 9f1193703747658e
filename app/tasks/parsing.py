"""Reading task lists (任务清单) as courts write them in Excel: pure functions, no database.

The rows come from `app.importing.read_table` (lists of cell strings). A sheet has a
title above the header, headers that vary between courts, section-heading rows such
as "一、队伍建设", free-form deadlines ("12月底前", "长期坚持", "每季度") and footers
such as "注：…". Everything here turns that into plain data plus row-level errors."""

from __future__ import annotations

import calendar
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Literal

from app.importing import ImportFormatError

DeadlineKind = Literal["date", "ongoing", "recurring"]
Period = Literal["monthly", "quarterly", "halfyear"]

HEADER_SCAN_ROWS = 15

# Field → accepted header names, best first (when two columns match, the better name wins).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("任务名称", "重点任务", "工作任务", "任务事项", "工作事项", "事项"),
    "requirements": ("工作要求", "具体措施", "工作措施", "主要措施", "具体内容"),
    "units": ("责任单位", "承办单位", "责任部门", "牵头单位", "牵头部门"),
    "cooperators": ("配合单位", "协办单位", "配合部门"),
    "leader": ("牵头领导", "牵头院领导", "分管领导", "责任领导"),
    "deadline": ("完成时限", "完成时间", "时限要求", "时间节点", "完成期限"),
    "notes": ("备注",),
    "seq": ("序号",),
}
REQUIRED_COLUMNS = ("title", "units", "deadline")

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMBER = re.compile(r"[〇零一二两三四五六七八九十]+")
_CN_ORDINAL = "一二三四五六七八九十"
_SECTION_HEADING = re.compile(
    rf"^(?:[{_CN_ORDINAL}]+\s*[、.．，,]|[（(]\s*[{_CN_ORDINAL}]+\s*[）)]|第[{_CN_ORDINAL}\d]+\s*[部分章节类项][分]?)\s*"
)
_SECTION_SEQ = re.compile(rf"^(?:[{_CN_ORDINAL}]+[、.．]?|[（(][{_CN_ORDINAL}]+[）)])$")
_FOOTER = re.compile(
    r"^(?:注|说明|备注|附注|填表说明|填表人|填报人|填报单位|制表人|制表|审核人|联系人|联系电话)\s*[:：\d一.、]"
)
_UNIT_SEPARATORS = re.compile(r"[、，,；;/／\s]+")

_ONGOING = re.compile(r"长期|持续|常态化|常年")
_REPORT_PERIODS: tuple[tuple[Period, str], ...] = (
    ("halfyear", r"每半年|按半年|每个半年"),
    ("quarterly", r"每季度|每个季度|每季|按季度|按季|逐季"),
    ("monthly", r"每月|每个月|按月|逐月"),
)
_PERIOD_BY_GROUP: dict[str, Period] = {name: name for name, _ in _REPORT_PERIODS}
_REPORT_PATTERN = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _REPORT_PERIODS))

_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_PREFIX = re.compile(r"^(?:截至|截止到|截止|于|在|到)")
_SUFFIX = re.compile(r"(?:以前|之前|前|为止|止)?(?:完成|完毕|办结)?[。.;；,，]*$")
_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_ISO_MONTH = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})$")
_YEAR_PREFIX = re.compile(r"^(?:(\d{4}|\d{2})年(?:度)?|(?:今|本|当)年(?:度)?)")
_MONTH = re.compile(r"^(\d{1,2})月(?:份)?(?:(\d{1,2})[日号]|(底|末|下旬)|(上旬)|(中旬))?$")
_QUARTER = re.compile(r"^第?(\d)季度(?:末|底)?$")
_YEAR_END = re.compile(r"^(?:年)?(?:底|末|内|度内|度)$")
_QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


class DeadlineError(ValueError):
    """A 完成时限 cell that can't be read, or names a date that doesn't exist."""


@dataclass(frozen=True)
class ParsedDeadline:
    """A deadline: a due date, 长期坚持 (optionally reported periodically), or a recurring period."""

    kind: DeadlineKind
    due: date | None = None
    recurrence: Period | None = None
    report_every: Period | None = None


@dataclass
class ParsedRow:
    """One task row of a task list, with its row-level errors (empty when the row is valid)."""

    row: int
    seq: str = ""
    section: str = ""
    title: str = ""
    requirements: str = ""
    unit_names: list[str] = field(default_factory=list)
    cooperator_names: list[str] = field(default_factory=list)
    leader: str = ""
    deadline_text: str = ""
    deadline: ParsedDeadline | None = None
    notes: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Stable dedupe key: sha1 hex of the normalised title and the sorted unit names."""
        units = sorted({_norm_key(u) for u in self.unit_names})
        raw = _norm_key(self.title) + "\x1f" + "\x1e".join(units)
        return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()  # a dedupe key


# ---------------------------------------------------------------- headers


def _norm_header(text: str) -> str:
    """Header text without whitespace, '*' or ':' (half- or full-width)."""
    return re.sub(r"[\s*＊:：]", "", text or "").lower()


def _header_field(cell: str) -> tuple[str, int] | None:
    """(field, rank of the matched name) for one header cell, or None if it means nothing known."""
    h = _norm_header(cell)
    if not h:
        return None
    candidates = [h]
    bare = re.sub(r"[（(][^）)]*[）)]$", "", h)  # "责任单位（部门）" → "责任单位"
    if bare and bare != h:
        candidates.append(bare)
    for text in candidates:
        for name, names in COLUMNS.items():
            if text in names:
                return name, names.index(text)
    return None


def _map_columns(row: list[str]) -> dict[str, int]:
    """Column index per known field in one row; the best-ranked name, then the leftmost, wins."""
    best: dict[str, tuple[int, int]] = {}
    for idx, cell in enumerate(row):
        found = _header_field(cell)
        if found is None:
            continue
        name, rank = found
        if name not in best or rank < best[name][0]:
            best[name] = (rank, idx)
    return {name: idx for name, (_, idx) in best.items()}


def _label(name: str) -> str:
    """A column's display name with its accepted alternatives, for error messages."""
    first, *others = COLUMNS[name]
    return f"{first}（或{'、'.join(others)}）" if others else first


def find_header(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    """(0-based index of the header row among the first 15 rows, column index per field)."""
    best: tuple[int, int, int, dict[str, int]] | None = None  # (-required, -found, index, columns)
    for idx, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cols = _map_columns(row)
        if len(cols) < 2:
            continue
        score = (-sum(1 for f in REQUIRED_COLUMNS if f in cols), -len(cols), idx, cols)
        if best is None or score[:3] < best[:3]:
            best = score
    cols = best[3] if best else {}
    missing = [_label(f) for f in REQUIRED_COLUMNS if f not in cols]
    if best is None or missing:
        raise ImportFormatError(
            f"未找到完整的表头：缺少必需的列 {'；'.join(missing)}。"
            f"请确认前 {HEADER_SCAN_ROWS} 行内有一行表头，且包含任务名称、责任单位和完成时限。"
        )
    return best[2], cols


# ---------------------------------------------------------------- units


def split_units(text: str) -> list[str]:
    """Unit names in one cell, split on 、，,；;/ newlines and spaces; trimmed, de-duplicated, in order."""
    names: list[str] = []
    for part in _UNIT_SEPARATORS.split(text or ""):
        name = part.strip().strip("。.")
        if name and name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------- deadlines


def _cn_number(text: str) -> str:
    """Chinese numerals as Arabic digits: 十二 → 12, 三十一 → 31, 二〇二二 → 2022."""
    if "十" not in text:
        return "".join(str(_CN_DIGITS[c]) for c in text)
    head, _, tail = text.partition("十")
    if "十" in tail or len(head) > 1 or len(tail) > 1:
        return text  # not a number we read (e.g. 十十); left as is, so the cell is refused
    tens = _CN_DIGITS[head] if head else 1
    ones = _CN_DIGITS[tail] if tail else 0
    return str(tens * 10 + ones)


def _normalise_deadline(text: str) -> str:
    """Half-width, Arabic-digit, whitespace-free deadline text without 前/完成/time-of-day."""
    t = unicodedata.normalize("NFKC", text).strip()
    t = _TIME_PART.sub("", t)
    t = re.sub(r"\s+", "", t)
    t = _CN_NUMBER.sub(lambda m: _cn_number(m.group()), t)
    t = _PREFIX.sub("", t)
    return _SUFFIX.sub("", t)


def _make_date(year: int, month: int, day: int | None, original: str) -> date:
    """date(year, month, day or last day of the month), or DeadlineError naming the cell."""
    if year < 100:
        year += 2000
    if not 2000 <= year <= 2100:
        raise DeadlineError(f"年份不合理：{original}")
    if not 1 <= month <= 12:
        raise DeadlineError(f"日期不存在：{original}")
    if day is None:
        day = calendar.monthrange(year, month)[1]
    try:
        return date(year, month, day)
    except ValueError:
        raise DeadlineError(f"日期不存在：{original}") from None


def _strict_date(t: str, default_year: int, original: str) -> date | None:
    """The date a whole normalised cell names, None if it isn't a date form at all."""
    if m := _ISO_DATE.match(t):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), original)
    if m := _ISO_MONTH.match(t):
        return _make_date(int(m[1]), int(m[2]), None, original)
    if m := _MONTH_DAY.match(t):
        return _make_date(default_year, int(m[1]), int(m[2]), original)
    year = default_year
    rest = t
    has_year = False
    if m := _YEAR_PREFIX.match(t):
        has_year = True
        if m[1]:
            year = int(m[1])
        rest = t[m.end() :]
    if m := _MONTH.match(rest):
        month = int(m[1])
        if m[2]:
            return _make_date(year, month, int(m[2]), original)
        if m[4]:
            return _make_date(year, month, 10, original)
        if m[5]:
            return _make_date(year, month, 20, original)
        return _make_date(year, month, None, original)
    if (has_year and rest == "") or _YEAR_END.match(rest):
        return _make_date(year, 12, 31, original)
    if rest == "上半年":
        return _make_date(year, 6, 30, original)
    if rest == "下半年":
        return _make_date(year, 12, 31, original)
    if m := _QUARTER.match(rest):
        quarter = int(m[1])
        if quarter not in _QUARTER_END:
            raise DeadlineError(f"季度不存在：{original}")
        return _make_date(year, *_QUARTER_END[quarter], original)
    return None


def parse_report_every(notes: str) -> Period | None:
    """'monthly', 'quarterly' or 'halfyear' if free text says 每月/每季度/每半年 (the first mention wins)."""
    m = _REPORT_PATTERN.search(unicodedata.normalize("NFKC", notes or ""))
    return None if m is None else _PERIOD_BY_GROUP[m.lastgroup or ""]


def parse_deadline(text: str, default_year: int) -> ParsedDeadline:
    """A 完成时限 cell as a ParsedDeadline; DeadlineError (Chinese message) if unreadable or impossible."""
    original = re.sub(r"\s+", " ", (text or "").strip())
    if not original:
        raise DeadlineError("缺少完成时限")
    t = _normalise_deadline(original)
    due = _strict_date(t, default_year, original)
    if due is not None:
        return ParsedDeadline("date", due=due)
    if _ONGOING.search(t):
        return ParsedDeadline("ongoing", report_every=parse_report_every(t))
    # "2022年12月底前完成，每月报送进展": the first piece that is a date wins.
    for piece in re.split(r"[,;。、()（）]+", t):
        piece = _SUFFIX.sub("", _PREFIX.sub("", piece))
        if piece and (due := _strict_date(piece, default_year, original)) is not None:
            return ParsedDeadline("date", due=due)
    period = parse_report_every(t)
    if period is not None:
        return ParsedDeadline("recurring", recurrence=period)
    raise DeadlineError(f"无法识别的完成时限：{original}（示例：2022年12月31日、12月底前、长期坚持、每季度）")


# ---------------------------------------------------------------- rows


def _norm_key(text: str) -> str:
    """Text for the dedupe key: half-width, without whitespace, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).lower()


def normalise_title(text: str) -> str:
    """A title as two people who mean the same item may write it: compatibility forms
    unified (NFKC: full-width letters, digits, spaces and brackets become plain ones),
    trimmed, runs of whitespace made one space, Latin letters in lower case."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text or "")).strip().lower()


def _cell(row: list[str], idx: int | None) -> str:
    """The trimmed cell at idx, '' when the column is missing or the row is short."""
    if idx is None or idx >= len(row):
        return ""
    return (row[idx] or "").strip()


def _section_name(text: str) -> str:
    """A section heading without its ordinal: "一、队伍建设" → "队伍建设"."""
    return _SECTION_HEADING.sub("", text).strip() or text.strip()


def parse_task_rows(rows: list[list[str]], default_year: int) -> list[ParsedRow]:
    """The task rows of a sheet (title, headings, repeated headers and footers skipped), row errors set."""
    header_idx, cols = find_header(rows)
    seq_col = cols.get("seq")
    title_col = cols["title"]
    out: list[ParsedRow] = []
    section = ""
    for idx in range(header_idx + 1, len(rows)):
        row = rows[idx]
        filled = {i: (c or "").strip() for i, c in enumerate(row) if (c or "").strip()}
        if not filled:
            continue
        values = list(dict.fromkeys(filled.values()))
        first = filled[min(filled)]
        if _FOOTER.match(first) and _cell(row, title_col) in ("", first):
            if out:
                break  # notes below the table; whatever follows belongs to them
            continue
        if set(filled) == {seq_col} and re.fullmatch(r"\d+[.、]?", first):
            continue  # a pre-numbered, otherwise empty template row
        if len(values) == 1:
            only = values[0]
            if _SECTION_HEADING.match(only) or (min(filled) != title_col and not only.isdigit()):
                section = _section_name(only)
                continue
        if len(filled) >= 3 and all(v.isdigit() for v in filled.values()):
            continue  # a row of column numbers under the header (1 2 3 4 …)
        mapped = _map_columns(row)
        if "title" in mapped and "units" in mapped:
            continue  # the header repeated (e.g. on each printed page)
        seq = _cell(row, seq_col)
        title = _cell(row, title_col)
        units_text = _cell(row, cols["units"])
        deadline_text = _cell(row, cols["deadline"])
        if seq and _SECTION_SEQ.match(seq) and not units_text and not deadline_text:
            # "一 | 队伍建设 | | |": the heading's ordinal in 序号, its name in the title column
            others = [v for i, v in filled.items() if i != seq_col]
            section = " ".join(others) if others else seq
            continue
        parsed = ParsedRow(
            row=idx + 1,
            seq=seq,
            section=section,
            title=title,
            requirements=_cell(row, cols.get("requirements")),
            unit_names=split_units(units_text),
            cooperator_names=split_units(_cell(row, cols.get("cooperators"))),
            leader=_cell(row, cols.get("leader")),
            deadline_text=deadline_text,
            notes=_cell(row, cols.get("notes")),
        )
        if not parsed.title:
            parsed.errors.append("缺少任务名称")
        if not parsed.unit_names:
            parsed.errors.append("缺少责任单位")
        if not deadline_text:
            parsed.errors.append("缺少完成时限")
        else:
            try:
                deadline = parse_deadline(deadline_text, default_year)
            except DeadlineError as exc:
                parsed.errors.append(str(exc))
            else:
                if deadline.kind == "ongoing" and deadline.report_every is None:
                    deadline = replace(deadline, report_every=parse_report_every(parsed.notes))
                parsed.deadline = deadline
        out.append(parsed)
    return out
