"""The scheduler process (issue 5)."""

from flask import Flask


def register(app: Flask) -> None:
    return None
