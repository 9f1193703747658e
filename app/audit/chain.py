"""The hash chain: each row's SM3 covers its content and the previous row's hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "at",
    "user_id",
    "username",
    "unit_id",
    "unit_name",
    "ip",
    "action",
    "object_type",
    "object_id",
    "result",
    "detail",
)


def canonical(row: Any) -> str:
    """The row's content as one canonical JSON text (sorted keys, no spaces)."""
    values = {}
    for name in CHAINED_FIELDS:
        value = getattr(row, name)
        if isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        values[name] = value
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sm3(text: str) -> str:
    """SM3 (GB/T 32905-2016) as OpenSSL provides it."""
    return hashlib.new("sm3", text.encode("utf-8")).hexdigest()


def link_hash(prev_hash: str, row: Any) -> str:
    return sm3(prev_hash + "|" + canonical(row))
