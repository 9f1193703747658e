"""The kinds of background job: each domain declares its own (`@job_kind`) next to the
service it calls, with what its page links to when it is done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.background.models import BackgroundJob
    from app.background.runner import JobContext


@dataclass
class Outcome:
    """What a finished job tells its owner (`message`) and keeps for the page (`result`)."""

    message: str
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    run: Callable[[JobContext], Outcome]
    # (text, url) of the page the result is on, for the job page (built in a request).
    link: Callable[[BackgroundJob], tuple[str, str] | None] | None = None
    # Open that page by itself as soon as the job is done (an import's preview).
    follow: bool = False
    # What the page says while the job runs (default: 正在处理…).
    running_note: str | None = None


KINDS: dict[str, Kind] = {}
ALL_OR_NOTHING = "正在写入：所有行在同一个事务中保存，全部成功或全部不保存（写入完成前，进度可能停在原处）…"


def job_kind(
    name: str,
    label: str,
    *,
    link: Callable[[BackgroundJob], tuple[str, str] | None] | None = None,
    follow: bool = False,
    running_note: str | None = None,
) -> Callable[[Callable[[JobContext], Outcome]], Callable[[JobContext], Outcome]]:
    """Declare a function `fn(ctx) -> Outcome` as the runner of jobs of kind `name`."""

    def register(fn: Callable[[JobContext], Outcome]) -> Callable[[JobContext], Outcome]:
        KINDS[name] = Kind(
            name=name, label=label, run=fn, link=link, follow=follow, running_note=running_note
        )
        return fn

    return register


def label_of(kind: str) -> str:
    found = KINDS.get(kind)
    return found.label if found else kind
