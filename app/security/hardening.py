"""Input hygiene and response headers for every request (等保: 入侵防范, 剩余信息保护)."""

from __future__ import annotations

from flask import Flask


def register_converters(app: Flask) -> None:
    """URL converters, registered before the blueprints (filled in by the hardening work)."""


def register(app: Flask) -> None:
    """Request and response hooks (filled in by the hardening work)."""
