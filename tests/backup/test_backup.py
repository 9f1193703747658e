"""Backup and restore (issue 13): `flask backup create | verify | restore` on SQLite and
PostgreSQL. The round trip restores the demo data plus evidence files into a fresh empty
database and upload dir and compares every row of every table and every file byte for
byte; a damaged archive, a newer schema and a non-empty target are refused with a
Chinese message, exit code 1 and nothing changed; the nightly job keeps BACKUP_KEEP."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import FileStorage

from app import create_app
from app.backup import last_backup, services
from app.extensions import db as _db
from app.jobs import scheduler
from app.reminders import runlog
from app.reminders.models import SweepRun
from app.tasks import services as task_services
from tests import factories

NOW = datetime(2026, 12, 1, 2, 0)


# ---------------------------------------------------------------- helpers


def _need_pg_tools(backend: str) -> None:
    import shutil

    if backend == "postgresql" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("未找到 pg_dump / pg_restore（postgresql-client），跳过 PostgreSQL 备份测试")


def _photo(name: str, colour: tuple[int, int, int]) -> FileStorage:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    out.seek(0)
    return FileStorage(out, filename=name, content_type="image/png")


def _pdf(name: str) -> FileStorage:
    data = b"%PDF-1.4\n% \xe5\xbc\xba\xe5\x9f\xba\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    return FileStorage(io.BytesIO(data), filename=name, content_type="application/pdf")


def _with_evidence(db) -> int:
    """A tree of courts, an item given to base1 and three progress reports with files
    (photos get thumbnails too), through the services. Returns the number of files."""
    tree = factories.build_tree()
    u = factories.task_users(tree)
    p = factories.project(u.assigner, now=NOW)
    t = factories.task(u.assigner, p, deadline=date(2026, 12, 31), now=NOW)
    (a,) = factories.assign(u.assigner, t, tree.base1, now=NOW)
    db.session.commit()
    files = [
        [_photo("现场照片.png", (0, 102, 74))],
        [_pdf("会议纪要.pdf"), _photo("台账.png", (200, 30, 30))],
        [],
    ]
    for i, batch in enumerate(files):
        task_services.add_report(
            u.base1_staff,
            a,
            text=f"第{i + 1}次进展",
            percent=None,
            files=batch,
            expected_version=a.version,
            now=NOW + timedelta(minutes=i),
        )
        db.session.commit()
    return 3


def _load_demo(app) -> None:
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the models plus alembic_version, by primary key."""
    engine = create_engine(url)
    out: dict[str, list[tuple]] = {}
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in _db.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                out[table.name] = [tuple(r) for r in conn.execute(table.select().order_by(*order))]
            out["alembic_version"] = [
                tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version ORDER BY 1"))
            ]
            # SQLite's search index (issue 15): the FTS5 table and its shadow tables, byte for byte
            for name in sorted(n for n in present if n == "search_fts" or n.startswith("search_fts_")):
                rows = conn.execute(text(f'SELECT * FROM "{name}" ORDER BY 1'))
                out[name] = [tuple(r) for r in rows]
            # Nothing in the database escapes the comparison.
            assert present == set(out), present ^ set(out)
            if engine.dialect.name == "postgresql":
                out["<sequences>"] = [
                    tuple(r)
                    for r in conn.execute(
                        text("SELECT sequencename, last_value FROM pg_sequences ORDER BY sequencename")
                    )
                ]
    finally:
        engine.dispose()
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Copy an archive member by member; `change` returns new bytes, or None to leave it out."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            data = tin.extractfile(member).read()  # type: ignore[union-attr]
            new = change(member.name, data)
            if new is None:
                continue
            member.size = len(new)
            tout.addfile(member, io.BytesIO(new))


@pytest.fixture(scope="session")
def restore_database(pg_database) -> Iterator[str]:
    """A second PostgreSQL database beside the test one, for restores; made once per
    session and dropped at its end (DROP DATABASE waits for a checkpoint: not per test)."""
    url = make_url(pg_database)
    name = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def destination(request, backend, tmp_path) -> Iterator[SimpleNamespace]:
    """A fresh empty database (SQLite: a file not yet there; PostgreSQL: the restore
    database with an empty public schema) and an upload dir not yet there, with an app
    configured for them."""
    uploads = tmp_path / "restored" / "uploads"
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'restored' / 'qiangji.sqlite'}"
    else:
        url = request.getfixturevalue("restore_database")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    dst = SimpleNamespace(url=url, uploads=uploads, app=_app_for(url, uploads))
    yield dst
    with dst.app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _app_for(url: str, uploads: Path):
    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=str(uploads))


def _cli(app, *args: str):
    """Run a command against `app` (its own app context: the CLI uses the current app)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _backup(app, tmp_path: Path, name: str = "b.tar.gz") -> Path:
    path = tmp_path / "backups" / name
    result = _cli(app, "backup", "create", str(path))
    assert result.exit_code == 0, result.output
    assert "备份完成" in result.output
    return path


# ---------------------------------------------------------------- the round trip


def test_round_trip_demo_data_and_evidence(app, db, backend, database_url, destination, tmp_path):
    _need_pg_tools(backend)
    _load_demo(app)
    n_reports = _with_evidence(db)
    uploads = Path(app.config["UPLOAD_DIR"])
    before_rows, before_files = _rows(database_url), _files(uploads)
    assert len(before_files) == n_reports + 2  # three files, two photos with thumbnails
    assert sum(len(r) for r in before_rows.values()) > 1000

    archive = _backup(app, tmp_path)
    with tarfile.open(archive) as tf:
        names = tf.getnames()
        manifest = json.loads(tf.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert names[-1] == "manifest.json"
    assert manifest["database"] == backend
    assert manifest["alembic_revision"] == before_rows["alembic_version"][0][0]
    assert {f["path"] for f in manifest["files"]} == set(before_files)
    assert manifest["tables"]["units"] == len(before_rows["units"])
    assert manifest["tables"]["attachments"] == len(before_rows["attachments"]) == n_reports
    # The CLI run is in the run log, and last_backup() finds it.
    info = last_backup()
    assert info is not None and info["ok"] and info["path"] == str(archive)
    assert info["size"] == archive.stat().st_size and info["trigger"] == "cli" and info["exists"]

    verified = _cli(app, "backup", "verify", str(archive))
    assert verified.exit_code == 0, verified.output
    assert "备份文件完好" in verified.output and f"证据文件：{len(before_files)} 个" in verified.output

    url, dst_uploads, dst = destination.url, destination.uploads, destination.app
    result = _cli(dst, "backup", "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output
    after_rows = _rows(url)
    for table, rows in before_rows.items():
        assert after_rows[table] == rows, table
    assert after_rows.keys() == before_rows.keys()
    assert _files(dst_uploads) == before_files
    # No staging directory or file left behind.
    assert not [p for p in dst_uploads.parent.iterdir() if p.name.startswith(".")]

    # Now the destination is not empty: refused, exit 1, nothing changed…
    again = _cli(dst, "backup", "restore", str(archive))
    assert again.exit_code == 1
    assert "恢复目标不是空的" in again.output and "--force" in again.output
    assert _rows(url) == after_rows and _files(dst_uploads) == before_files
    # … unless forced: the same data again, the extra file gone with the old upload dir.
    (dst_uploads / "stray.txt").write_bytes(b"x")
    forced = _cli(dst, "backup", "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert _rows(url) == before_rows and _files(dst_uploads) == before_files


# ---------------------------------------------------------------- bad archives


@pytest.fixture
def small_backup(app, db, backend, tmp_path) -> Path:
    _need_pg_tools(backend)
    _with_evidence(db)
    return _backup(app, tmp_path)


def _verify_fails(app, path: Path, *phrases: str) -> str:
    result = _cli(app, "backup", "verify", str(path))
    assert result.exit_code == 1, result.output
    assert "错误：" in result.output, result.output
    for phrase in phrases:
        assert phrase in result.output, result.output
    assert "Traceback" not in result.output
    return result.output


def test_verify_catches_a_changed_byte_in_a_file(app, small_backup, tmp_path):
    bad = tmp_path / "changed.tar.gz"
    target = {}

    def flip(name: str, data: bytes) -> bytes:
        if name.startswith("uploads/") and not target:
            target[name] = True
            return data[:10] + bytes([data[10] ^ 1]) + data[11:]
        return data

    _rewrite(small_backup, bad, flip)
    (name,) = target
    _verify_fails(app, bad, "与其清单不一致", "SHA-256", name)


def test_verify_catches_a_missing_and_an_extra_file(app, small_backup, tmp_path):
    missing = tmp_path / "missing.tar.gz"
    gone = []

    def drop(name: str, data: bytes) -> bytes | None:
        if name.startswith("uploads/") and not gone:
            gone.append(name)
            return None
        return data

    _rewrite(small_backup, missing, drop)
    _verify_fails(app, missing, "缺少 1 个文件", gone[0])

    extra = tmp_path / "extra.tar.gz"
    with tarfile.open(small_backup) as tin, tarfile.open(extra, "w:gz") as tout:
        for member in tin:
            tout.addfile(member, tin.extractfile(member))
        info = tarfile.TarInfo("uploads/zz-not-listed")
        info.size = 3
        tout.addfile(info, io.BytesIO(b"abc"))
    _verify_fails(app, extra, "清单中没有的文件", "uploads/zz-not-listed")


def test_verify_catches_a_truncated_or_corrupt_archive(app, small_backup, tmp_path):
    data = small_backup.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    _verify_fails(app, truncated, "备份文件已损坏或不完整")
    # One byte changed in the compressed stream (CRC or deflate error, wherever it lands).
    for where in (len(data) // 3, len(data) - 6):
        corrupt = tmp_path / f"corrupt{where}.tar.gz"
        corrupt.write_bytes(data[:where] + bytes([data[where] ^ 0xFF]) + data[where + 1 :])
        out = _verify_fails(app, corrupt)
        assert "损坏" in out or "与其清单不一致" in out, out
    not_gzip = tmp_path / "notes.tar.gz"
    not_gzip.write_text("这不是备份", "utf-8")
    _verify_fails(app, not_gzip, "备份文件已损坏或不完整")
    _verify_fails(app, tmp_path / "nowhere.tar.gz", "备份文件不存在")


def test_verify_catches_an_edited_manifest(app, small_backup, tmp_path):
    bad = tmp_path / "manifest.tar.gz"

    def edit(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            m = json.loads(data)
            m["tables"]["units"] += 1
            m["dump"]["size"] += 0  # the dump itself unchanged
            return json.dumps(m).encode()
        return data

    _rewrite(small_backup, bad, edit)
    result = _cli(app, "backup", "verify", str(bad))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert result.exit_code == 1 and "行数与清单不符" in result.output, result.output
    else:  # a pg dump's rows are counted only when restored: its hash still must match
        assert result.exit_code == 0, result.output


def test_restore_of_a_damaged_archive_changes_nothing(app, small_backup, destination, tmp_path):
    url, uploads, dst = destination.url, destination.uploads, destination.app
    data = small_backup.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) - 200])
    result = _cli(dst, "backup", "restore", str(truncated))
    assert result.exit_code == 1 and "备份文件已损坏或不完整" in result.output, result.output
    assert not uploads.exists()
    if uploads.parent.exists():  # the staging dirs are gone
        assert [p.name for p in uploads.parent.iterdir()] == []
    if url.startswith("sqlite"):
        assert not Path(make_url(url).database).exists()
    else:
        engine = create_engine(url)
        assert inspect(engine).get_table_names() == []
        engine.dispose()


def test_restore_refuses_a_backup_from_a_newer_version(app, db, backend, destination, tmp_path):
    _need_pg_tools(backend)
    factories.build_tree()
    db.session.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    db.session.commit()
    try:
        archive = _backup(app, tmp_path)
    finally:
        db.session.execute(
            text("UPDATE alembic_version SET version_num = :v"), {"v": services.code_heads()[0]}
        )
        db.session.commit()
    url, uploads, dst = destination.url, destination.uploads, destination.app
    result = _cli(dst, "backup", "restore", str(archive))
    assert result.exit_code == 1, result.output
    assert "备份来自更新的版本" in result.output and "0099_from_the_future" in result.output
    assert not uploads.exists()
    if backend == "sqlite":
        assert not Path(make_url(url).database).exists()
    else:
        engine = create_engine(url)
        assert inspect(engine).get_table_names() == []
        engine.dispose()


def test_restore_refuses_a_backup_of_the_other_database_kind(app, small_backup, backend, tmp_path):
    other = (
        _app_for(f"sqlite:///{tmp_path / 'other.sqlite'}", tmp_path / "other-up")
        if backend == "postgresql"
        else None
    )
    if other is None:
        pytest.skip("一个方向足够：PostgreSQL 的备份恢复到 SQLite")
    result = _cli(other, "backup", "restore", str(small_backup))
    assert result.exit_code == 1 and "不能恢复到当前配置的 SQLite 数据库" in result.output, result.output
    assert not (tmp_path / "other.sqlite").exists() and not (tmp_path / "other-up").exists()


def test_create_refuses_to_overwrite_and_a_memory_database(app, db, backend, tmp_path):
    _need_pg_tools(backend)
    path = _backup(app, tmp_path)
    result = _cli(app, "backup", "create", str(path))
    assert result.exit_code == 1 and "已经存在，不会覆盖" in result.output
    memory = _app_for("sqlite://", tmp_path / "mem-up")
    result = _cli(memory, "backup", "create", str(tmp_path / "m.tar.gz"))
    assert result.exit_code == 1 and "内存数据库" in result.output
    assert not (tmp_path / "m.tar.gz").exists()


# ---------------------------------------------------------------- the nightly job


def test_nightly_backup_keeps_exactly_backup_keep(app, db, backend, tmp_path):
    _need_pg_tools(backend)
    factories.build_tree()
    directory = tmp_path / "nightly"
    directory.mkdir()
    (directory / "README.txt").write_text("运维人员的说明，不是备份", "utf-8")
    (directory / "qiangji-backup-manual.zip").write_bytes(b"not ours")
    app.config.update(BACKUP_DIR=str(directory), BACKUP_KEEP=2)
    for _ in range(4):
        assert scheduler.backup_job(app) is True
    kept = sorted(p.name for p in directory.glob("qiangji-backup-*.tar.gz"))
    assert len(kept) == 2
    assert (directory / "README.txt").exists() and (directory / "qiangji-backup-manual.zip").exists()
    runs = db.session.scalars(db.select(SweepRun).where(SweepRun.job == "backup").order_by(SweepRun.id)).all()
    assert [r.trigger for r in runs] == ["scheduler"] * 4
    assert [r.counts["deleted"] for r in runs] == [0, 0, 1, 1]
    newest = runs[-1].counts["path"]
    assert Path(newest).name in kept and Path(runs[-2].counts["path"]).name in kept
    for name in kept:
        assert services.verify_backup(directory / name).files == 0
    info = last_backup()
    assert info is not None and info["ok"] and info["path"] == newest and info["trigger"] == "scheduler"
    words = runlog.count_items("backup", runs[-1].counts)
    assert words[:4] == [
        "证据文件 0 个",
        f"数据库记录 {runs[-1].counts['rows']} 行",
        f"备份大小 {runs[-1].counts['bytes']} 字节",
        "按保留份数删除旧备份 1 份",
    ]
    assert words[4] == f"备份文件：{newest}"
    assert runlog.JOBS["backup"] == "数据备份"


def test_a_failed_nightly_backup_is_logged_and_shown(app, db, backend, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    app.config.update(BACKUP_DIR=str(blocker / "backups"))  # a directory under a file: cannot exist
    assert scheduler.backup_job(app) is False
    run = db.session.scalar(db.select(SweepRun).where(SweepRun.job == "backup"))
    assert run.finished_at is None and run.errors
    info = last_backup()
    assert info is not None and info["ok"] is False and info["error"]


def test_scheduler_backs_up_nightly_only_when_backup_dir_is_set(app, tmp_path):
    from apscheduler.triggers.cron import CronTrigger

    from app.timeutil import TZ

    app.config["BACKUP_DIR"] = ""
    assert scheduler.build_scheduler(app).get_job("backup") is None
    app.config.update(BACKUP_DIR=str(tmp_path), BACKUP_TIME="01:30")
    job = scheduler.build_scheduler(app).get_job("backup")
    assert job is not None and isinstance(job.trigger, CronTrigger) and job.name == "每日数据备份"
    start = datetime(2026, 12, 6, 12, 0, tzinfo=TZ)
    assert job.trigger.get_next_fire_time(None, start) == datetime(2026, 12, 7, 1, 30, tzinfo=TZ)
    assert last_backup() is None
