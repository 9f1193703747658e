"""Backup and restore: one `.tar.gz` holding the database, every file of the upload dir
and a manifest (counts and SHA-256 of each file).

Layout of an archive (in this order):

    database.sqlite | database.pgdump   SQLite online-backup copy, or `pg_dump -Fc`
    uploads/<path>                      every regular file under UPLOAD_DIR
    manifest.json                       written last, once every hash is known

The database is dumped first, the files copied after: an evidence file is written to
disk before its row is committed (app.attachments.store), so every file a dumped row
names is already there; a file uploaded during the backup is at worst an extra file.
Nothing here prints: the CLI (app.backup.cli) and the nightly job say it in Chinese."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from flask import current_app
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import URL, make_url

from app.extensions import db
from app.timeutil import to_local, utcnow

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_DUMP = "database.sqlite"
PG_DUMP = "database.pgdump"
UPLOADS = "uploads"
PREFIX = "qiangji-backup-"
SUFFIX = ".tar.gz"
CHUNK = 1 << 20
MANIFEST_MAX = 256 * 1024 * 1024  # a manifest bigger than this is not ours
COMPRESSLEVEL = 6  # evidence is mostly JPEG/PDF and the pg dump is compressed: 9 costs time, saves little


class BackupError(Exception):
    """A backup, check or restore that cannot go on; `message` is said to the user (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------- the configured database


@dataclass
class Target:
    """The configured database and upload dir."""

    kind: str  # "sqlite" | "postgresql"
    url: URL
    upload_dir: Path
    sqlite_path: Path | None = None

    @property
    def dump_name(self) -> str:
        return SQLITE_DUMP if self.kind == "sqlite" else PG_DUMP


def configured() -> Target:
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    upload_dir = Path(current_app.config["UPLOAD_DIR"]).resolve()
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file::memory:"):
            raise BackupError("当前配置的是内存数据库（sqlite://），没有可备份或恢复的数据库文件。")
        return Target("sqlite", url, upload_dir, Path(url.database).resolve())
    if backend == "postgresql":
        return Target("postgresql", url, upload_dir)
    raise BackupError(f"不支持备份这种数据库：{backend}（只支持 SQLite 与 PostgreSQL）。")


def _conninfo(url: URL) -> str:
    """A libpq connection string without the password (that goes in PGPASSWORD)."""

    def quote(value: Any) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    parts = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    for key, value in url.query.items():
        parts[key] = value[-1] if isinstance(value, tuple) else value
    return " ".join(f"{k}={quote(v)}" for k, v in parts.items() if v not in (None, ""))


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: BACKUP_PG_DUMP (and pg_restore beside it) or PATH."""
    configured_dump = current_app.config.get("BACKUP_PG_DUMP") or ""
    if configured_dump:
        path = configured_dump if name == "pg_dump" else str(Path(configured_dump).with_name(name))
    else:
        path = shutil.which(name) or ""
    if not path or not Path(path).is_file():
        raise BackupError(
            f"未找到 {name}（PostgreSQL 客户端工具）。请安装与数据库服务器同版本的 postgresql-client，"
            f"或在配置 BACKUP_PG_DUMP 中写明 pg_dump 的完整路径。"
        )
    return path


def _run_tool(args: list[str], url: URL, what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, env=_pg_env(url), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
        raise BackupError(f"{what}失败（退出码 {proc.returncode}）：" + " / ".join(detail))
    return proc


# ---------------------------------------------------------------- small helpers


@contextlib.contextmanager
def _reachable() -> Iterator[None]:
    """A database that cannot be reached is said in Chinese, not as a traceback."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0][:300]
        raise BackupError(f"无法连接数据库：{reason}。请检查 DATABASE_URL 与数据库服务。") from exc


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("字节", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} 字节" if unit == "字节" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} 字节"  # pragma: no cover


def app_version() -> tuple[str | None, str | None]:
    """(version from pyproject.toml, git commit) when they can be found."""
    import tomllib

    base = Path(current_app.root_path).parent
    version = commit = None
    with contextlib.suppress(Exception):
        version = tomllib.loads((base / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    commit = os.environ.get("QIANGJI_COMMIT") or None
    if commit is None and (base / ".git").exists() and shutil.which("git"):
        with contextlib.suppress(Exception):
            proc = subprocess.run(
                ["git", "-C", str(base), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
            )
            commit = proc.stdout.strip() or None if proc.returncode == 0 else None
    return version, commit


def _script_directory():
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(current_app.extensions["migrate"].directory))
    return ScriptDirectory.from_config(cfg)


def code_heads() -> list[str]:
    return list(_script_directory().get_heads())


def _unknown_revisions(revision: str | None) -> list[str]:
    if not revision:
        return []
    script = _script_directory()
    unknown = []
    for rev in revision.split(","):
        try:
            if script.get_revision(rev) is None:
                unknown.append(rev)
        except Exception:  # noqa: BLE001 — alembic says "can't locate revision" in several ways
            unknown.append(rev)
    return unknown


# ---------------------------------------------------------------- dumping the database


def _sqlite_facts(path: Path) -> tuple[dict[str, int], str | None]:
    """Row counts per table and the alembic revision of a SQLite file (read only)."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}
        revision = None
        if "alembic_version" in names:
            revs = sorted(r[0] for r in con.execute("SELECT version_num FROM alembic_version"))
            revision = ",".join(revs) or None
        return counts, revision
    finally:
        con.close()


def _dump_sqlite(target: Target, out: Path) -> tuple[dict[str, int], str | None]:
    """The online backup API: a consistent copy while the app keeps running."""
    assert target.sqlite_path is not None
    if not target.sqlite_path.is_file():
        raise BackupError(f"数据库文件不存在：{target.sqlite_path}")
    src = sqlite3.connect(str(target.sqlite_path), timeout=60)
    dst = sqlite3.connect(str(out))
    try:
        with dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite 数据库备份失败：{exc}") from exc
    finally:
        dst.close()
        src.close()
    return _sqlite_facts(out)


def _dump_postgresql(target: Target, out: Path) -> tuple[dict[str, int], str | None]:
    """`pg_dump -Fc` of a snapshot exported by a REPEATABLE READ transaction that also
    counts the rows: the counts in the manifest are those of the dump, to the row."""
    pg_dump = _pg_tool("pg_dump")
    with (
        _reachable(),
        db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn,
        conn.begin(),
    ):
        conn.execute(text("SET TRANSACTION READ ONLY"))
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        names = list(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
            ).scalars()
        )
        counts = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
        revision = None
        if "alembic_version" in names:
            revs = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            revision = ",".join(revs) or None
        _run_tool(
            [
                pg_dump,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={out}",
                f"--dbname={_conninfo(target.url)}",
            ],
            target.url,
            "pg_dump 导出数据库",
        )
    return counts, revision


# ---------------------------------------------------------------- create


@dataclass
class Created:
    path: Path
    size: int
    files: int
    file_bytes: int
    rows: int
    tables: int
    seconds: float
    manifest: dict = field(repr=False)


class _Hashing:
    """A reader that hashes what passes through it (for tarfile.addfile)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        return data


def _upload_files(upload_dir: Path, skip: Path | None) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of every regular file under the upload dir, sorted;
    never a symlink, never anything under `skip` (a backup dir inside the upload dir)."""
    if not upload_dir.is_dir():
        return
    for root, dirs, files in os.walk(upload_dir):
        dirs.sort()
        here = Path(root)
        if skip is not None and (here == skip or skip in here.parents):
            dirs[:] = []
            continue
        for name in sorted(files):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(upload_dir).as_posix(), path


def default_name(now: datetime) -> str:
    return f"{PREFIX}{to_local(now):%Y%m%d-%H%M%S}{SUFFIX}"


def _archive_path(path: Path, now: datetime) -> Path:
    """PATH itself, or a dated name inside PATH when it is a directory (never overwrite)."""
    if path.is_dir():
        base = default_name(now)
        candidate, n = path / base, 1
        while candidate.exists():
            n += 1
            candidate = path / base.replace(SUFFIX, f"-{n}{SUFFIX}")
        return candidate
    if path.exists():
        raise BackupError(f"{path} 已经存在，不会覆盖。请换一个文件名，或给出一个目录。")
    if not path.name.endswith((".tar.gz", ".tgz")):
        raise BackupError(f"备份文件名须以 .tar.gz 结尾：{path}")
    return path


def create_backup(path: Path, *, now: datetime | None = None) -> Created:
    """Write one archive at `path` (or a dated name in it when it is a directory)."""
    started = time.monotonic()
    now = now or utcnow()
    target = configured()
    path = Path(path)
    if not path.exists() and not path.name.endswith((".tar.gz", ".tgz")):
        path.mkdir(parents=True, exist_ok=True)  # a new backup dir
    archive = _archive_path(path, now)
    archive.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".qiangji-backup-", dir=archive.parent))
    partial = archive.with_name(f".{archive.name}.partial")
    try:
        dump = work / target.dump_name
        if target.kind == "sqlite":
            counts, revision = _dump_sqlite(target, dump)
        else:
            counts, revision = _dump_postgresql(target, dump)
        version, commit = app_version()
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "app": "强基通",
            "app_version": version,
            "git_commit": commit,
            "alembic_revision": revision,
            "database": target.kind,
            "created_at": now.replace(microsecond=0).isoformat() + "Z",
            "tables": counts,
            "dump": {"path": target.dump_name, "size": dump.stat().st_size, "sha256": _sha256_file(dump)},
            "files": [],
        }
        skip = archive.parent.resolve()
        skip = skip if target.upload_dir in skip.parents or skip == target.upload_dir else None
        with tarfile.open(partial, "w:gz", compresslevel=COMPRESSLEVEL, format=tarfile.PAX_FORMAT) as tf:
            info = tf.gettarinfo(str(dump), arcname=target.dump_name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o600
            with dump.open("rb") as fh:
                tf.addfile(info, fh)
            for rel, file in _upload_files(target.upload_dir, skip):
                try:
                    fh = file.open("rb")
                except FileNotFoundError:  # removed (a purged job result) since the listing
                    continue
                with fh:
                    st = os.fstat(fh.fileno())
                    info = tarfile.TarInfo(f"{UPLOADS}/{rel}")
                    info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o600
                    reader = _Hashing(fh)
                    tf.addfile(info, reader)  # type: ignore[arg-type]
                manifest["files"].append({"path": rel, "size": st.st_size, "sha256": reader.sha.hexdigest()})
            data = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tf.addfile(info, io.BytesIO(data))
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(partial, 0o600)  # personal data: readable by the service account only
        os.replace(partial, archive)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Created(
        path=archive,
        size=archive.stat().st_size,
        files=len(manifest["files"]),
        file_bytes=sum(f["size"] for f in manifest["files"]),
        rows=sum(counts.values()),
        tables=len(counts),
        seconds=time.monotonic() - started,
        manifest=manifest,
    )


# ---------------------------------------------------------------- reading an archive


@dataclass
class Checked:
    """An archive found complete and equal to its manifest."""

    path: Path
    manifest: dict
    dump_checked: str  # how the dump was found readable, in Chinese
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return len(self.manifest["files"])

    @property
    def file_bytes(self) -> int:
        return sum(f["size"] for f in self.manifest["files"])

    @property
    def rows(self) -> int:
        return sum(self.manifest["tables"].values())


def _safe_member(name: str) -> PurePosixPath:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts or name != p.as_posix():
        raise BackupError(f"备份文件中有不安全的路径“{name}”，已拒绝。")
    return p


def _listed(names: list[str], limit: int = 5) -> str:
    shown = "、".join(names[:limit])
    return shown + (f" 等 {len(names)} 个" if len(names) > limit else "")


def _read_archive(path: Path, dump_to: Path, uploads_to: Path | None) -> dict:
    """Stream through the archive once: hash every member, write the dump to `dump_to`
    and (when given) the upload files under `uploads_to`; check everything against the
    manifest. Returns the manifest. Raises BackupError with what is wrong."""
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    seen: dict[str, tuple[int, str]] = {}
    manifest_bytes: bytes | None = None
    try:
        with tarfile.open(path, "r:gz") as tf:
            for member in tf:
                name = member.name
                _safe_member(name)
                if not member.isfile():
                    raise BackupError(f"备份文件中有不应出现的条目“{name}”（不是普通文件），已拒绝。")
                if name in seen or (name == MANIFEST and manifest_bytes is not None):
                    raise BackupError(f"备份文件中“{name}”出现了两次，已拒绝。")
                src = tf.extractfile(member)
                assert src is not None
                if name == MANIFEST:
                    if member.size > MANIFEST_MAX:
                        raise BackupError("备份文件中的清单大得不正常，不是本系统生成的备份。")
                    manifest_bytes = src.read()
                    continue
                out_path: Path | None = None
                if name in (SQLITE_DUMP, PG_DUMP):
                    out_path = dump_to.with_name(name)
                elif name.startswith(UPLOADS + "/") and uploads_to is not None:
                    out_path = uploads_to.joinpath(*PurePosixPath(name).parts[1:])
                sha = hashlib.sha256()
                out = None
                if out_path is not None:
                    out_path.parent.mkdir(parents=True, exist_ok=True)
                    out = out_path.open("wb")
                try:
                    while chunk := src.read(CHUNK):
                        sha.update(chunk)
                        if out is not None:
                            out.write(chunk)
                finally:
                    if out is not None:
                        out.close()
                seen[name] = (member.size, sha.hexdigest())
            # tarfile stops at the end-of-archive blocks: read the gzip stream to its end
            # so its CRC and length are checked too (a flipped byte in padding is caught).
            fileobj = tf.fileobj
            assert fileobj is not None
            while fileobj.read(CHUNK):
                pass
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise BackupError(
            f"备份文件已损坏或不完整，无法读取（{type(exc).__name__}: {exc}）。请换用另一份备份。"
        ) from exc
    if manifest_bytes is None:
        raise BackupError("备份文件中没有清单 manifest.json：不是本系统生成的备份，或备份文件不完整。")
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
        files = {f"{UPLOADS}/{f['path']}": (int(f["size"]), str(f["sha256"])) for f in manifest["files"]}
        files[manifest["dump"]["path"]] = (int(manifest["dump"]["size"]), str(manifest["dump"]["sha256"]))
        manifest["tables"] = {str(k): int(v) for k, v in manifest["tables"].items()}
        kind = manifest["database"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"备份文件中的清单无法解析（{type(exc).__name__}: {exc}）。") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份文件格式版本 {manifest.get('format')!r} 不是本程序认识的 {FORMAT}。")
    expected_dump = {"sqlite": SQLITE_DUMP, "postgresql": PG_DUMP}.get(kind)
    if expected_dump is None or manifest["dump"]["path"] != expected_dump:
        raise BackupError(f"清单中的数据库类型“{kind}”与转储文件不符。")
    missing = sorted(n for n in files if n not in seen)
    extra = sorted(n for n in seen if n not in files)
    changed = sorted(n for n in files if n in seen and seen[n] != files[n])
    problems = []
    if missing:
        problems.append(f"缺少 {len(missing)} 个文件：{_listed(missing)}")
    if changed:
        problems.append(f"{len(changed)} 个文件的大小或 SHA-256 与清单不符：{_listed(changed)}")
    if extra:
        problems.append(f"有 {len(extra)} 个清单中没有的文件：{_listed(extra)}")
    if problems:
        raise BackupError("备份文件与其清单不一致，不能使用：" + "；".join(problems) + "。")
    return manifest


def _check_dump(manifest: dict, dump: Path) -> str:
    """The dump can be read: SQLite passes its integrity check and has the manifest's
    row counts and revision; a PostgreSQL dump is listed by pg_restore."""
    if manifest["database"] == "sqlite":
        try:
            con = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
            try:
                result = con.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                con.close()
            counts, revision = _sqlite_facts(dump)
        except sqlite3.Error as exc:
            raise BackupError(f"备份中的 SQLite 数据库无法读取：{exc}") from exc
        if result != "ok":
            raise BackupError(f"备份中的 SQLite 数据库未通过完整性检查：{result}")
        if counts != manifest["tables"]:
            diff = sorted(
                t for t in set(counts) | set(manifest["tables"]) if counts.get(t) != manifest["tables"].get(t)
            )
            raise BackupError(f"备份中数据库的行数与清单不符：{_listed(diff)}。")
        if revision != manifest.get("alembic_revision"):
            raise BackupError(
                f"备份中数据库的结构版本 {revision} 与清单中的 {manifest.get('alembic_revision')} 不符。"
            )
        return "SQLite 完整性检查通过，各表行数与清单一致"
    with dump.open("rb") as fh:
        if fh.read(5) != b"PGDMP":
            raise BackupError("备份中的 PostgreSQL 转储不是 pg_dump 自定义格式（-Fc），无法恢复。")
    pg_restore = _pg_tool("pg_restore")
    proc = subprocess.run([pg_restore, "--list", str(dump)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"pg_restore 无法读取备份中的转储：{proc.stderr.strip()[-500:]}")
    return f"pg_restore 可读取转储（{sum(1 for line in proc.stdout.splitlines() if line and not line.startswith(';'))} 个对象）"


def verify_backup(path: Path) -> Checked:
    started = time.monotonic()
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="qiangji-verify-") as tmp:
        manifest = _read_archive(path, Path(tmp) / "dump", None)
        how = _check_dump(manifest, Path(tmp) / manifest["dump"]["path"])
    return Checked(path, manifest, how, time.monotonic() - started)


# ---------------------------------------------------------------- restore


def occupied(target: Target) -> list[str]:
    """What makes the target not empty, in Chinese (empty list: empty). A database is
    empty when it has no units and no users (a fresh install, migrated, with the shipped
    standards, is empty); the upload dir when it holds no file."""
    found: list[str] = []
    counts: dict[str, int] = {}
    if target.kind == "sqlite":
        assert target.sqlite_path is not None
        if target.sqlite_path.exists() and target.sqlite_path.stat().st_size > 0:
            try:
                counts, _ = _sqlite_facts(target.sqlite_path)
            except sqlite3.Error as exc:
                found.append(f"数据库文件 {target.sqlite_path} 已存在且无法读取（{exc}）")
    else:
        with _reachable(), db.engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            counts = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
        db.engine.dispose()
    units, users = counts.get("units", 0), counts.get("users", 0)
    if units or users:
        found.append(f"数据库中已有 {units} 个单位、{users} 个用户")
    n_files = sum(1 for _ in _upload_files(target.upload_dir, None))
    if n_files:
        found.append(f"上传目录 {target.upload_dir} 中已有 {n_files} 个文件")
    return found


@dataclass
class Restored:
    checked: Checked
    seconds: float
    older_schema: bool  # the backup's schema is older than the code's: run `db upgrade`


def _swap_dir(staged: Path, final: Path) -> Path | None:
    """Move `staged` to `final`; the old `final` (if any) is moved aside and returned."""
    aside = None
    if final.exists():
        aside = final.with_name(f".{final.name}.old-{os.getpid()}-{int(time.time())}")
        os.rename(final, aside)
    try:
        os.rename(staged, final)
    except OSError:
        if aside is not None:
            os.rename(aside, final)
        raise
    return aside


def restore_backup(path: Path, *, force: bool = False) -> Restored:
    """Restore the archive into the configured database and upload dir. Everything is
    read, checked and unpacked beside its final place first; only then is it moved in
    (SQLite: a rename; PostgreSQL: `pg_restore --single-transaction`, all or nothing)."""
    started = time.monotonic()
    path = Path(path)
    target = configured()
    if not force:
        found = occupied(target)
        if found:
            raise BackupError(
                "恢复目标不是空的：" + "；".join(found) + "。恢复只写入空的数据库和上传目录；"
                "如确需覆盖现有数据，请先停止 qiangji-web 与 qiangji-scheduler 服务，再加 --force 重新执行。"
            )
    upload_parent = target.upload_dir.parent
    upload_parent.mkdir(parents=True, exist_ok=True)
    staged_uploads = Path(tempfile.mkdtemp(prefix=f".{target.upload_dir.name}.restore-", dir=upload_parent))
    if target.kind == "sqlite":
        assert target.sqlite_path is not None
        target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        dump_dir = Path(tempfile.mkdtemp(prefix=".qiangji-restore-", dir=target.sqlite_path.parent))
    else:
        dump_dir = Path(tempfile.mkdtemp(prefix="qiangji-restore-"))
    try:
        manifest = _read_archive(path, dump_dir / "dump", staged_uploads)
        if manifest["database"] != target.kind:
            names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
            raise BackupError(
                f"这是 {names.get(manifest['database'], manifest['database'])} 数据库的备份，"
                f"不能恢复到当前配置的 {names[target.kind]} 数据库。"
            )
        revision = manifest.get("alembic_revision")
        unknown = _unknown_revisions(revision)
        if unknown:
            raise BackupError(
                f"备份来自更新的版本：其数据库结构版本 {', '.join(unknown)} 不在本程序的迁移中"
                f"（本程序最新为 {', '.join(code_heads())}，备份时程序版本 {manifest.get('app_version') or '未知'}）。"
                "请先把程序升级到不低于备份时的版本，再恢复。"
            )
        dump = dump_dir / manifest["dump"]["path"]
        how = _check_dump(manifest, dump)
        checked = Checked(path, manifest, how)
        older = bool(revision) and sorted(revision.split(",")) != sorted(code_heads())
        # Everything is on disk and checked: move it in.
        db.session.remove()
        db.engine.dispose()
        aside_uploads = _swap_dir(staged_uploads, target.upload_dir)
        try:
            if target.kind == "sqlite":
                _put_sqlite(dump, target.sqlite_path)  # type: ignore[arg-type]
            else:
                _put_postgresql(dump, target)
        except BaseException:
            # Put the upload dir back as it was: nothing changed.
            if target.upload_dir.exists():
                os.rename(target.upload_dir, staged_uploads)
            if aside_uploads is not None:
                os.rename(aside_uploads, target.upload_dir)
            raise
        if aside_uploads is not None:
            shutil.rmtree(aside_uploads, ignore_errors=True)
    finally:
        shutil.rmtree(staged_uploads, ignore_errors=True)
        shutil.rmtree(dump_dir, ignore_errors=True)
    return Restored(checked, time.monotonic() - started, older)


def _put_sqlite(dump: Path, final: Path) -> None:
    """Rename the checked copy into place; an old file and its -wal/-shm/-journal go
    aside first (a stale -wal beside the new file would be replayed into it)."""
    moved: list[tuple[Path, Path]] = []
    stamp = f"{os.getpid()}-{int(time.time())}"
    try:
        for suffix in ("", "-wal", "-shm", "-journal"):
            old = final.with_name(final.name + suffix)
            if old.exists():
                aside = old.with_name(f".{old.name}.old-{stamp}")
                os.rename(old, aside)
                moved.append((aside, old))
        os.chmod(dump, 0o600)
        os.rename(dump, final)
    except BaseException:
        for aside, old in moved:
            os.rename(aside, old)
        raise
    for aside, _ in moved:
        aside.unlink(missing_ok=True)


def _put_postgresql(dump: Path, target: Target) -> None:
    pg_restore = _pg_tool("pg_restore")
    _run_tool(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",  # all or nothing: a failure leaves the database as it was
            "--exit-on-error",
            "--no-password",
            f"--dbname={_conninfo(target.url)}",
            str(dump),
        ],
        target.url,
        "pg_restore 恢复数据库",
    )


# ---------------------------------------------------------------- the nightly job


def prune(directory: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` archives of ours in `directory` (by time, then name);
    delete the others and return them. Other files there are never touched."""
    ours = [p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file() and not p.is_symlink()]
    ours.sort(key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    gone = ours[max(keep, 1) :]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def nightly(now: datetime) -> tuple[dict, list[str]]:
    """The scheduler's backup: BACKUP_DIR, keeping BACKUP_KEEP archives. Counts as the
    run log words them (app.reminders.runlog COUNTS["backup"])."""
    directory = current_app.config.get("BACKUP_DIR") or ""
    if not directory:
        return {"skipped_reason": "未配置 BACKUP_DIR"}, []
    keep = int(current_app.config.get("BACKUP_KEEP", 7))
    made = create_backup(Path(directory), now=now)
    gone = prune(Path(directory), keep)
    return {
        "files": made.files,
        "rows": made.rows,
        "bytes": made.size,
        "deleted": len(gone),
        "path": str(made.path),
    }, []


def record_cli_run(started: datetime, counts: dict | None, errors: list[str]) -> None:
    """A `flask backup create` is listed in the run log too (trigger 命令行)."""
    from app.reminders.models import SweepRun

    db.session.add(
        SweepRun(
            job="backup",
            as_of=to_local(started).date(),
            trigger="cli",
            started_at=started,
            finished_at=None if errors else utcnow(),
            counts=counts,
            errors=errors,
        )
    )
    db.session.commit()


def last_backup() -> dict | None:
    """The latest backup run (nightly or `flask backup create`), for the admin page:
    {"when": datetime (UTC, naive), "path": str | None, "size": int | None (bytes),
     "ok": bool, "error": str | None, "trigger": "scheduler" | "cli",
     "exists": bool (the archive is still there)}; None when there has been none."""
    from app.reminders.models import SweepRun

    run = db.session.scalar(
        select(SweepRun)
        .where(SweepRun.job == "backup")
        .order_by(SweepRun.started_at.desc(), SweepRun.id.desc())
        .limit(1)
    )
    if run is None:
        return None
    counts = run.counts or {}
    ok = run.finished_at is not None and not run.errors and "path" in counts
    path = counts.get("path")
    return {
        "when": run.finished_at or run.started_at,
        "path": path,
        "size": counts.get("bytes"),
        "ok": ok,
        "error": (run.errors or [None])[0],
        "trigger": run.trigger,
        "exists": bool(path) and Path(path).is_file(),
    }
