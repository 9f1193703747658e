"""The API's field types: what a value may be, said once for validation and for the document.

Every message is Chinese and names no field: `app.api.core` puts "字段 x" or "参数 x"
in front (a `Sentence` is used as it stands). Ids fit a PostgreSQL INTEGER, dates are
YYYY-MM-DD in a range the deadline arithmetic can hold, text refuses NUL (PostgreSQL
cannot store it) and loses other control characters except newline and tab."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import FileStorage

from app import textclean

ID_MAX = textclean.DB_INT_MAX  # PostgreSQL INTEGER
DATE_MIN, DATE_MAX = textclean.DATE_MIN, textclean.DATE_MAX  # what the forms accept too
LIST_MAX = 200  # ids in one request (units of a province's subtree fit)
FILES_MAX = 20

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}")
_UINT_TEXT = re.compile(r"[0-9]{1,30}")  # an id in a query string or form: digits only
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Sentence(str):
    """A whole message, shown without the "字段 x" prefix."""


def _encodable(text: str) -> bool:
    """Not a lone surrogate ("\ud800" is valid JSON, but no database or hash can take it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _textual(data: Any) -> bool:
    """A query string or a form (every value is text), rather than a JSON body."""
    return isinstance(data, MultiDictProxy)


class Int(fields.Integer):
    """An integer: a JSON number without a fraction (not true/false, not "5"), or in a
    query string or form, ASCII digits."""

    default_error_messages = {"invalid": "须为整数。"}

    def __init__(
        self, *, minimum: int | None = None, maximum: int | None = None, signed: bool = True, **kw: Any
    ):
        self.text_form = _INT_TEXT if signed else _UINT_TEXT
        if minimum is not None or maximum is not None:
            low = "" if minimum is None else minimum
            high = "" if maximum is None else maximum
            message = (
                f"须为 {low} 到 {high} 之间的整数。"
                if minimum is not None and maximum is not None
                else f"须为不小于 {low} 的整数。"
                if minimum is not None
                else f"须为不大于 {high} 的整数。"
            )
            kw.setdefault("validate", validate.Range(min=minimum, max=maximum, error=message))
        super().__init__(strict=True, **kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and _textual(data):
            if not self.text_form.fullmatch(value.strip()):
                raise self.make_error("invalid")
            return int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


def Id(**kw: Any) -> Int:
    """A database id: 1 … 2147483647."""
    return Int(minimum=1, maximum=ID_MAX, signed=False, **kw)


def Version(**kw: Any) -> Int:
    """The `version` a client read; writes without the current one answer 409."""
    kw.setdefault(
        "metadata",
        {
            "description": "读取该对象时得到的 version（乐观锁）。缺少或已被他人修改时返回 409，"
            "响应中的 version 为当前值。"
        },
    )
    return Int(minimum=1, maximum=ID_MAX, signed=False, **kw)


# What the document promises about text: no NUL anywhere; a required text has at least
# one character that is neither a space nor a control character (those are dropped).
TEXT_PATTERN = r"^[^\u0000]*$"
VISIBLE_TEXT_PATTERN = r"^[^\u0000]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000]*$"


class Text(fields.String):
    """Text a person typed: NUL refused, other control characters (except newline and tab)
    dropped; `blank=False` refuses an empty or all-space value."""

    default_error_messages = {
        "invalid": "须为字符串。",
        "invalid_utf8": "须为有效的 UTF-8 文本。",
        "nul": "包含空字符（NUL），无法保存，请删除后重试。",
        "blank": "不能为空。",
    }

    def __init__(self, *, max_length: int, blank: bool = True, **kw: Any):
        self.max_length = max_length
        self.blank = blank
        validators = [validate.Length(max=max_length, error=f"不能超过 {max_length} 个字。")]
        if not blank:  # documents minLength 1; all-space text is refused in _deserialize
            validators.insert(0, validate.Length(min=1, error=self.default_error_messages["blank"]))
        pattern = TEXT_PATTERN if blank else VISIBLE_TEXT_PATTERN
        kw["metadata"] = {"pattern": pattern, **kw.get("metadata", {})}
        super().__init__(validate=validators, **kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if textclean.has_nul(text):
            raise self.make_error("nul")
        if not _encodable(text):
            raise self.make_error("invalid_utf8")
        text = textclean.clean_input(text)
        if not self.blank and not text.strip():
            raise self.make_error("blank")
        return text


class Secret(fields.String):
    """A password as typed: kept exactly (no character dropped), but no NUL and no lone
    surrogate, 1 … 128 characters."""

    default_error_messages = {
        "invalid": "须为字符串。",
        "bad": "须为 1 到 128 个字符（不含空字符）。",
    }

    def __init__(self, **kw: Any):
        kw["metadata"] = {"minLength": 1, "maxLength": 128, "pattern": TEXT_PATTERN, **kw.get("metadata", {})}
        super().__init__(**kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not 0 < len(text) <= 128 or textclean.has_nul(text) or not _encodable(text):
            raise self.make_error("bad")
        return text


class Choice(fields.String):
    """One of a fixed set of words."""

    default_error_messages = {"invalid": "须为字符串。"}

    def __init__(self, choices: tuple[str, ...] | list[str], *, error: str | None = None, **kw: Any):
        self.choices = tuple(choices)
        listed = (
            "、".join(self.choices[:-1]) + " 或 " + self.choices[-1] if len(self.choices) > 1 else choices[0]
        )
        message = error or f"只能是 {listed}。"
        super().__init__(validate=validate.OneOf(self.choices, error=message), **kw)


# Exactly the real dates of 2000 … 2099, so the document says what is accepted
# (31-day months, 30-day months, February to the 28th, and 29 February of leap years).
DAY_PATTERN = (
    r"^(20[0-9]{2}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)"
    r"|02-(0[1-9]|1[0-9]|2[0-8]))|20([02468][048]|[13579][26])-02-29)$"
)


class Day(fields.Date):
    """A date written YYYY-MM-DD (a real one: 2026-02-30 is refused), 2000 … 2099."""

    default_error_messages = {
        "invalid": "须为 YYYY-MM-DD 格式的日期。",  # also a date that does not exist (2026-02-30)
        "range": f"须在 {DATE_MIN} 到 {DATE_MAX} 之间。",
    }

    def __init__(self, **kw: Any):
        kw["metadata"] = {"pattern": DAY_PATTERN, **kw.get("metadata", {})}
        super().__init__(format="iso", **kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if not DATE_MIN <= day <= DATE_MAX:
            raise self.make_error("range")
        return day


class Flag(fields.Boolean):
    """A JSON true / false; in a query string or form also 1 / 0, yes / no."""

    default_error_messages = {"invalid": "须为 true 或 false。"}
    _TEXT = {
        "true": True,
        "1": True,
        "yes": True,
        "on": True,
        "false": False,
        "0": False,
        "no": False,
        "off": False,
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and _textual(data) and value.strip().lower() in self._TEXT:
            return self._TEXT[value.strip().lower()]
        raise self.make_error("invalid")


class File(Upload):
    """One uploaded file (a multipart part with a file name)."""

    default_error_messages = {
        "invalid": "须为上传的文件（multipart/form-data 中带文件名的部分）。",
        "name": "的文件名包含空字符（NUL），请重命名后再上传。",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage) or not value.filename:
            raise self.make_error("invalid")
        if textclean.has_nul(value.filename):
            raise self.make_error("name")
        return value


def IdList(*, what: str = "id", max_items: int = LIST_MAX, **kw: Any) -> fields.List:
    """An array of ids, at most `max_items` of them."""
    return fields.List(
        Id(),
        validate=validate.Length(max=max_items, error=f"最多 {max_items} 个{what}。"),
        error_messages={
            "invalid": "须为整数数组。",
            "item_invalid": f"须为整数数组（每项为 1 到 {ID_MAX} 的整数）。",
        },
        **kw,
    )


def Files(**kw: Any) -> fields.List:
    """Uploaded files (multipart `files`, repeatable)."""
    return fields.List(
        File(),
        validate=validate.Length(max=FILES_MAX, error=f"一次最多上传 {FILES_MAX} 个文件。"),
        **kw,
    )


class Kind(fields.Field):
    """A visit kind: its name (e.g. 蹲点指导) or its integer id."""

    default_error_messages = {"invalid": "须为走访类型名称（如“蹲点指导”）或其整数 id。"}

    def __init__(self, **kw: Any):
        kw.setdefault("metadata", {})
        kw["metadata"] = {
            "oneOf": [
                {"type": "string", "minLength": 1, "maxLength": 30, "pattern": VISIBLE_TEXT_PATTERN},
                {"type": "integer", "minimum": 1, "maximum": ID_MAX},
            ],
            **kw["metadata"],
        }
        super().__init__(**kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int) and 1 <= value <= ID_MAX:
            return value
        if isinstance(value, str) and len(value) <= 30 and not textclean.has_nul(value) and _encodable(value):
            name = textclean.clean_input(value).strip()
            if name:
                return name
        raise self.make_error("invalid")


class Period(fields.String):
    """A month YYYY-MM (2000-01 … 2100-12)."""

    def __init__(self, **kw: Any):
        kw.setdefault("metadata", {})
        kw["metadata"] = {"pattern": r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$", **kw["metadata"]}
        super().__init__(**kw)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        from app.dashboard.rankings import period_bounds
        from app.errors import ServiceError

        text = value if isinstance(value, str) else ""
        try:
            period_bounds(text)
        except ServiceError as exc:
            raise ma.ValidationError(Sentence(exc.message)) from None
        return text
