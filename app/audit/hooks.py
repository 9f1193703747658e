"""Request hooks that feed the audit log."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Write the events a request queued, after its own transaction (see services)."""
    from app.audit.services import flush_request_events

    @app.after_request
    def write_audit_events(response):
        flush_request_events()
        return response
