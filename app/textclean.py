"""Input hygiene in one place: what user input may hold, and what a file may hold.

Input: NUL is refused (PostgreSQL cannot store it and no court text needs it);
other control characters except newline and tab are dropped. Integers fit the
database's `integer` (PostgreSQL's 32 bits, so an id means the same on both
databases); dates lie between DATE_MIN and DATE_MAX (the reminder arithmetic and the
calendar never meet year 9999). Files: XLSX/DOCX (XML 1.0) cannot hold most control
characters, so exports replace them, while the stored text stays as the user typed it;
a cell that starts like a formula is written as text (see app/exports)."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

NUL = "\x00"
# C0 controls except \t \n \r, DEL, C1 controls.
_INPUT_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What XML 1.0 forbids (openpyxl's ILLEGAL_CHARACTERS_RE plus the surrogates/non-characters).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
NUL_MESSAGE = "输入内容包含空字符（NUL），无法保存，请删除后重试。"


def has_nul(value: str | None) -> bool:
    return bool(value) and NUL in value


def clean_input(value: str) -> str:
    """Drop control characters other than newline, carriage return and tab.
    (NUL must have been refused before: see `has_nul`.)"""
    return _INPUT_CONTROL.sub("", value.replace("\r\n", "\n"))


def hidden_char(value: str | None) -> str | None:
    """The first character a reader would not see: a control character (newline, carriage
    return and tab aside) or a format character (Unicode category Cf: the bidi overrides
    such as U+202E that reverse how the rest of a line reads, zero-width characters, BOM).
    For short one-line texts other people read (names), which refuse them rather than
    drop them silently."""
    for ch in value or "":
        if ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf"):
            return ch
    return None


def hidden_message(label: str, ch: str) -> str:
    return f"{label}包含不可见的控制字符或格式字符（U+{ord(ch):04X}），无法保存，请删除后重试。"


def for_file(value: str) -> str:
    """Text an XML-based file (XLSX, DOCX) can hold: illegal characters become U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", value)


# ---------------------------------------------------------------- numbers and dates

DB_INT_MIN, DB_INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL `integer`
DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2099, 12, 31)
DATE_MESSAGE = "日期须在 2000年1月1日 到 2099年12月31日 之间。"
INT_MESSAGE = "数值超出允许的范围。"


def db_int(value: object) -> int:
    """int(value) when it fits the database's integer; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not an integer")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if len(text) > 11:  # keeps int() away from Python's 4300-digit limit, too
            raise ValueError("integer too long")
        number = int(text)
    if not DB_INT_MIN <= number <= DB_INT_MAX:
        raise ValueError("integer out of range")
    return number


def fits_db_int(value: int | None) -> bool:
    return value is None or DB_INT_MIN <= value <= DB_INT_MAX


def date_in_range(value: date | None) -> bool:
    return value is None or DATE_MIN <= value <= DATE_MAX


# ---------------------------------------------------------------- files

# A cell that starts with one of these would be read as a formula (or DDE) by Excel,
# WPS or LibreOffice: it is written as text. (OWASP "CSV injection".)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)
