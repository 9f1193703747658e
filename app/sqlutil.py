"""Small SQL helpers shared by the list queries."""

from __future__ import annotations

from typing import Any


def contains(column: Any, text: str) -> Any:
    """`column` contains `text` literally: % and _ typed by a user are not wildcards."""
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")
