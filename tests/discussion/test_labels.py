"""Every action journaled on an item, a visit or a comment reads in Chinese: on the
page's 记录 (app/templates/_timeline.html) and in a watcher's notification
(app/discussion/watching.py LABELS). A new action without its label fails here. The
actions are read from the source: the literal action of each record(…) call."""

from __future__ import annotations

import re
from pathlib import Path

from app.discussion import watching
from app.journal import FIELD_LABELS

APP = Path(__file__).resolve().parents[2] / "app"
# The families shown on an item's or a visit's 记录, and told to its watchers.
ON_TIMELINE = (
    "assignment",
    "report",
    "review",
    "extension",
    "step",
    "visit",
    "finding",
    "task",
    "link",
    "comment",
)
NOT_A_CHANGE = {"visit.create", "task.create"}  # nobody watches what does not exist yet


def _journaled() -> set[str]:
    src = "\n".join(p.read_text(encoding="utf-8") for p in APP.rglob("*.py"))
    found = re.findall(r'(?:record|_journal_both|_journal)\(\s*[\w.]+,\s*"([a-z_]+\.[a-z_.]+)"', src)
    return {a for a in found if a.split(".")[0] in ON_TIMELINE} | {"watch.add", "watch.remove"}


def _timeline_labels() -> set[str]:
    return set(re.findall(r"'([a-z_]+\.[a-z_]+)':", (APP / "templates" / "_timeline.html").read_text()))


def test_every_journaled_action_has_a_timeline_label():
    actions = _journaled()
    assert {"comment.create", "comment.edit", "comment.withdraw", "link.add"} <= actions  # the scan works
    assert sorted(actions - _timeline_labels()) == []


def test_every_change_has_a_watcher_label():
    def labelled(action: str) -> bool:
        return action in watching.LABELS or any(
            p.endswith(".") and action.startswith(p) for p in watching.LABELS
        )

    told = {a for a in _journaled() if not a.startswith("watch.")} - NOT_A_CHANGE
    assert sorted(a for a in told if not labelled(a)) == []
    assert watching.label("link.add") == "添加了关联" and watching.label("link.remove") == "移除了关联"


def test_a_comments_fields_have_labels():
    assert {"body", "mentions", "withdrawn_at", "withdrawn_by"} <= FIELD_LABELS.keys()
