"""WSGI entry point: `gunicorn wsgi:app`, and `flask --app wsgi ...` for the CLI."""

import sys

from app import create_app

try:
    app = create_app()
except RuntimeError as exc:  # a refused configuration (default SECRET_KEY …): one line, exit 1
    print(f"强基通未启动：{exc}", file=sys.stderr)
    sys.exit(1)
