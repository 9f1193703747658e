"""Text hygiene in one place: what user input may hold, and what a file may hold.

Input: NUL is refused (PostgreSQL cannot store it and no court text needs it);
other control characters except newline and tab are dropped. Files: XLSX/DOCX
(XML 1.0) cannot hold most control characters, so exports replace them, while the
stored text stays as the user typed it."""

from __future__ import annotations

import re

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


def for_file(value: str) -> str:
    """Text an XML-based file (XLSX, DOCX) can hold: illegal characters become U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", value)
