"""The lists a view can be saved for, and each one's filter keys: what a saved query
may hold, checked when it is saved and again when it is opened (a unit moved out of
scope, a project closed, a status retired since: dropped and said, never a 500)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import select

from app import authz
from app.extensions import db
from app.textclean import clean_input, date_in_range, db_int, has_nul

MAX_PAIRS = 20  # more filters than any list has: the rest is junk
MAX_VALUE = 200
MAX_QUERY = 1000  # the column's size
# What a list accepts but a saved view does not keep: where the user was, not what he asked.
NOT_KEPT = ("page", "size", "view")

Check = Callable[[str, Any], str | None]  # (value, user) -> the value to keep, or None


def _choice(options: Callable[[], Any]) -> Check:
    return lambda value, user: value if value in options() else None


def _date(value: str, user: Any) -> str | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day.isoformat() if date_in_range(day) else None


def _text(limit: int) -> Check:
    def check(value: str, user: Any) -> str | None:
        if has_nul(value):
            return None
        text = clean_input(value).strip()
        return text[:limit] or None

    return check


def _id(value: str) -> int | None:
    try:
        number = db_int(value)
    except ValueError:
        return None
    return number if number > 0 else None


def _visible(model_path: str, *, active: str | None = None) -> Check:
    """An id of an object the user may see (and, when named, still active)."""

    def check(value: str, user: Any) -> str | None:
        number = _id(value)
        if number is None:
            return None
        obj = db.session.get(_model(model_path), number)
        if obj is None or not authz.sees(user, obj) or (active and not getattr(obj, active)):
            return None
        return str(number)

    return check


def _model(path: str) -> type:
    module, name = path.rsplit(".", 1)
    return getattr(__import__(module, fromlist=[name]), name)


def _category(value: str, user: Any) -> str | None:
    from app.tasks.models import Category

    number = _id(value)
    found = number and db.session.get(Category, number)
    return str(number) if found and found.is_active else None


def _family(value: str, user: Any) -> str | None:
    from app.checklists.models import ChecklistTemplate

    found = db.session.scalar(select(ChecklistTemplate.id).where(ChecklistTemplate.family == value).limit(1))
    return value if found is not None else None


def _assignment_statuses():
    from app.tasks.assignment_views import STATUS_FILTERS
    from app.tasks.helpers import ALL_STATUSES

    return {ALL_STATUSES, *STATUS_FILTERS}


def _assignment_kinds():
    from app.tasks.assignment_views import KIND_FILTERS

    return KIND_FILTERS


def _assignment_sorts():
    from app.tasks.queries import SORTS

    return SORTS


def _lights():
    from app.deadlines import LIGHTS

    return LIGHTS


def _visit_statuses():
    from app.visits.views import STATUS_FILTERS

    return STATUS_FILTERS


_UNIT = ("单位", _visible("app.org.models.Unit", active="is_active"))


@dataclass(frozen=True)
class ListSpec:
    key: str
    label: str
    endpoint: str
    fields: dict[str, tuple[str, Check]]  # query key -> (its label, its check)


LISTS: dict[str, ListSpec] = {
    spec.key: spec
    for spec in (
        # Rectifications are the same list's kind=rectification (整改事项).
        ListSpec(
            "assignments",
            "事项承办",
            "tasks.assignment_list",
            {
                "q": ("搜索词", _text(100)),
                "project": ("项目", _visible("app.tasks.models.Project", active="is_active")),
                "unit": _UNIT,
                "status": ("状态", _choice(_assignment_statuses)),
                "category": ("类别", _category),
                "responsible": ("责任人", _visible("app.org.models.User", active="active")),
                "from": ("时限起", _date),
                "to": ("时限止", _date),
                "light": ("灯色", _choice(_lights)),
                "kind": ("事项类型", _choice(_assignment_kinds)),
                "top": ("统计口径", _choice(lambda: ("1",))),
                "by": ("交办单位", _visible("app.org.models.Unit", active="is_active")),
                "sort": ("排序", _choice(_assignment_sorts)),
            },
        ),
        ListSpec(
            "visits",
            "督导走访",
            "visits.visit_list",
            {
                "status": ("状态", _choice(_visit_statuses)),
                "unit": ("对象单位", _visible("app.org.models.Unit", active="is_active")),
                "from": ("走访日期起", _date),
                "to": ("走访日期止", _date),
            },
        ),
        ListSpec(
            "checklists",
            "检查清单",
            "checklists.checklist_list",
            {"family": ("标准", _family), "unit": _UNIT},
        ),
    )
}


def spec_of(key: str) -> ListSpec | None:
    return LISTS.get(key)


def resolve(
    spec: ListSpec, pairs: list[tuple[str, str]], user: Any
) -> tuple[list[tuple[str, str]], list[str]]:
    """The pairs this list knows and this user may still use, in the list's own order of
    keys, each key once; and the labels of what was dropped (unknown keys, values no
    longer valid). Paging is dropped without a word; empty values too."""
    given: dict[str, str] = {}
    ignored: list[str] = []
    for key, value in pairs[: MAX_PAIRS * 2]:
        if key in NOT_KEPT or not value or key in given:
            continue
        if key not in spec.fields:
            ignored.append(f"未知条件“{clean_input(key)[:20]}”")
            continue
        given[key] = value[:MAX_VALUE]
    kept = []
    for key, (label, check) in spec.fields.items():
        if key not in given:
            continue
        value = check(given[key], user)
        if value is None:
            ignored.append(label)
        else:
            kept.append((key, value))
    return kept, ignored


def parse(query: str) -> list[tuple[str, str]]:
    """A stored or submitted query string as pairs (bad percent-escapes are kept as text)."""
    pieces = (query or "").split("&")[: MAX_PAIRS * 2]  # more is junk, and never parsed
    return parse_qsl("&".join(pieces))


def view_marker(pairs: list[tuple[str, str]]) -> int | None:
    """The id of the view the list was opened from (`view=`), when it is a valid one."""
    return next((_id(value[:MAX_VALUE]) for key, value in pairs if key == "view"), None)


def encode(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def ignored_message(name: str, ignored: list[str]) -> str:
    return f"查询“{name}”中有 {len(ignored)} 个条件已失效，已忽略：{'、'.join(ignored)}；其余条件照常应用。"
