"""Time in one place: the product's clock is Asia/Shanghai; the database keeps naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Naive UTC, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_now() -> datetime:
    """Aware datetime in Asia/Shanghai."""
    return datetime.now(TZ)


def local_today() -> date:
    """Today's date in Asia/Shanghai (what 逾期/临期 are measured against)."""
    return local_now().date()


def to_local(value: datetime | None) -> datetime | None:
    """Stored naive-UTC (or aware) datetime → aware Asia/Shanghai."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ)


def fmt_datetime(value: datetime | None) -> str:
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


def fmt_date_cn(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""
