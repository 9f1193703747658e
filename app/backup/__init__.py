"""Backup and restore (issue 13): `flask --app wsgi backup create | verify | restore` and
the scheduler's nightly backup. The services are in app.backup.services; the admin page
asks `last_backup()` (re-exported here) for the latest run."""

from __future__ import annotations

from flask import Flask

from app.backup.services import BackupError, last_backup

__all__ = ["BackupError", "last_backup", "register"]


def register(app: Flask) -> None:
    from app.backup.cli import register as register_cli

    register_cli(app)
