"""`flask --app wsgi security report [--out PATH]`: the 等保 evidence, as text and DOCX."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from app.timeutil import utcnow


def register(app: Flask) -> None:
    group = app.cli.commands.get("security")
    if group is None:

        @app.cli.group("security")
        def security() -> None:
            """安全：等保自查报告。"""

        group = security

    @group.command("report")
    @click.option(
        "--out", "out", default="security-report.docx", show_default=True, help="DOCX 文件的保存路径"
    )
    def report_command(out: str) -> None:
        """List each GB/T 22239-2019 level-3 control with this installation's live setting."""
        from app.audit.services import event
        from app.security.report import UNMET, build

        report = build(now=utcnow())
        path = Path(out)
        path.write_bytes(report.docx())
        click.echo(report.text(), nl=False)
        click.echo(f"（报告已写入 {path}）")
        event(
            "security.report",
            username="system",
            detail={
                "unmet": [c.title for c in report.controls if c.status == UNMET],
                "file": str(path)[:200],
            },
        )
