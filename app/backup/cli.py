"""`flask --app wsgi backup create PATH | verify PATH | restore PATH [--force]`.

Every failure is one Chinese sentence on stderr and exit code 1; nothing is changed."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask

from app.backup import services
from app.backup.services import BackupError, human_size
from app.extensions import db
from app.timeutil import to_local, utcnow

KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _fail(exc: BackupError) -> None:
    click.echo(f"错误：{exc.message}", err=True)
    sys.exit(1)


def _summary(checked: services.Checked) -> list[str]:
    m = checked.manifest
    created = m.get("created_at") or ""
    try:
        from datetime import datetime

        created = f"{to_local(datetime.fromisoformat(created.rstrip('Z'))):%Y-%m-%d %H:%M:%S}（北京时间）"
    except ValueError:
        pass
    commit = (m.get("git_commit") or "")[:12]
    version = (m.get("app_version") or "未知") + (f"（提交 {commit}）" if commit else "")
    return [
        f"  创建时间：{created}",
        f"  程序版本：{version}；数据库结构版本：{m.get('alembic_revision') or '无'}",
        f"  数据库：{KINDS.get(m['database'], m['database'])}，{len(m['tables'])} 张表，共 {checked.rows} 行",
        f"  证据文件：{checked.files} 个，共 {human_size(checked.file_bytes)}，大小与 SHA-256 均与清单一致",
        f"  数据库转储：{checked.dump_checked}",
    ]


def register(app: Flask) -> None:
    @app.cli.group()
    def backup() -> None:
        """备份与恢复：数据库、全部证据文件和清单，打包为一个 .tar.gz 文件。"""

    @backup.command("create")
    @click.argument("path", type=click.Path(path_type=Path))
    def create(path: Path) -> None:
        """写一份备份到 PATH（.tar.gz 文件名，或一个目录：其中按时间命名）。"""
        started = utcnow()
        try:
            made = services.create_backup(path, now=started)
        except BackupError as exc:
            _record(started, None, [exc.message])
            _fail(exc)
            return
        _record(
            started,
            {
                "files": made.files,
                "rows": made.rows,
                "bytes": made.size,
                "deleted": 0,
                "path": str(made.path),
            },
            [],
        )
        click.echo(
            f"备份完成：{made.path}\n"
            f"  大小 {human_size(made.size)}；数据库 {made.tables} 张表 {made.rows} 行；"
            f"证据文件 {made.files} 个（{human_size(made.file_bytes)}）；用时 {made.seconds:.1f} 秒"
        )

    @backup.command("verify")
    @click.argument("path", type=click.Path(path_type=Path))
    def verify(path: Path) -> None:
        """按清单检查备份文件：每个文件都在且 SHA-256 一致、没有多余文件、数据库转储可读。"""
        try:
            checked = services.verify_backup(path)
        except BackupError as exc:
            _fail(exc)
            return
        click.echo(f"备份文件完好：{path}（检查用时 {checked.seconds:.1f} 秒）")
        for line in _summary(checked):
            click.echo(line)

    @backup.command("restore")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--force", is_flag=True, help="目标数据库或上传目录不是空的也覆盖（请先停止服务）。")
    def restore(path: Path, force: bool) -> None:
        """把备份恢复到当前配置的数据库和上传目录（须为空，除非加 --force）。"""
        try:
            done = services.restore_backup(path, force=force)
        except BackupError as exc:
            _fail(exc)
            return
        click.echo(f"恢复完成：{path}（用时 {done.seconds:.1f} 秒）")
        for line in _summary(done.checked):
            click.echo(line)
        if done.older_schema:
            click.echo("备份的数据库结构比本程序旧：请接着运行 flask --app wsgi db upgrade，再启动服务。")


def _record(started, counts: dict | None, errors: list[str]) -> None:
    """List the run in the run log (best effort: a database that is away or not yet
    migrated must not hide the backup's own result)."""
    try:
        services.record_cli_run(started, counts, errors)
    except Exception:  # noqa: BLE001
        db.session.rollback()
