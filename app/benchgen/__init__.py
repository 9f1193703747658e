"""Benchmark data: `flask --app wsgi bench generate --scale demo|province|nation [--seed N]`."""

from __future__ import annotations

from datetime import date

import click
from flask import Flask

from app.benchgen.shapes import SHAPES
from app.cli import parse_date_option


def register(app: Flask) -> None:
    @app.cli.group()
    def bench() -> None:
        """Benchmark data."""

    @bench.command("generate")
    @click.option("--scale", type=click.Choice(list(SHAPES)), required=True, help="demo, province or nation.")
    @click.option("--seed", type=int, default=1, show_default=True, help="The same seed gives the same rows.")
    @click.option(
        "--as-of",
        "as_of",
        callback=parse_date_option,
        help="The generated world's today (YYYY-MM-DD); default: today in Asia/Shanghai.",
    )
    @click.pass_context
    def generate_command(ctx: click.Context, scale: str, seed: int, as_of: date | None) -> None:
        """Fill an empty database with a generated court tree and three years of work."""
        from app.benchgen.generate import NotEmpty, generate, overdue_share
        from app.extensions import db
        from app.timeutil import local_today

        today = as_of or local_today()
        try:
            result = generate(scale, seed, today, click.echo)
        except NotEmpty as exc:
            db.session.rollback()
            click.echo(str(exc), err=True)
            ctx.exit(1)
        click.echo(f"完成：{result['seconds']:.1f} s。各表行数：")
        for table, n in result["counts"].items():
            click.echo(f"  {table:<22} {n:>10,}")
        overdue, total = overdue_share(today)
        click.echo(f"逾期未办结事项 {overdue:,}/{total:,}（{overdue / max(total, 1):.1%}）")
        ids = ", ".join(str(i) for i in result["long_items"][:3])
        click.echo(
            f"长历史事项（进度反馈最多）：assignment {ids}{' …' if len(result['long_items']) > 3 else ''}"
        )
        click.echo(
            "演示账号（密码 Demo@2026）仍在原单位，如 hlft 华来人民法庭庭长、bxzy 本溪中院、lnfy 省高院；"
        )
        click.echo("生成的账号 u00_00001 … 使用同一密码。")
