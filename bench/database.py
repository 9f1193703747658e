"""The benchmark database: built once per scale, seed, migration head and generator
version (kept in bench/.cache/ for SQLite, as a template database for PostgreSQL),
then copied afresh for every run — a run writes (import, circular, sweep), the cache never.

Built with `flask --app wsgi db upgrade` then `flask --app wsgi bench generate --scale S
--seed N`. Until that generator exists, the demo scale falls back to `seed demo`; any
scale can start from a file made elsewhere with `--source` (copied, never modified)."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
DEFAULT_POSTGRES = "postgresql+psycopg://qiangji:qiangji@127.0.0.1:5432/qj_bench"


class Unreachable(RuntimeError):
    """PostgreSQL does not answer: the runner says so and exits 2."""


@dataclass
class Prepared:
    url: str  # the working copy, for DATABASE_URL
    how: str  # how it was obtained, one line for the report
    server_version: str | None = None


def flask(args: list[str], url: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`flask --app wsgi …` on `url`, in the repository, with the venv's Python."""
    full = {**os.environ, **(env or {}), "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    full.setdefault("APP_CONFIG", "development")
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
    )


def migration_head() -> str:
    from alembic.script import ScriptDirectory

    return "+".join(sorted(ScriptDirectory(str(ROOT / "migrations")).get_heads()))


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha1()
    for p in sorted(paths):
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


@functools.cache
def generator_available() -> bool:
    """`flask --app wsgi bench generate` exists (app/benchgen, being written for issue 11)."""
    if not (ROOT / "app" / "benchgen").is_dir():
        return False
    return flask(["bench", "generate", "--help"], "sqlite://").returncode == 0


def generator_version() -> str:
    """Changes whenever the generator's code does (so a stale cache is never reused) —
    the generator's, and the search index's it ends with (app.search.index.reindex: the
    documents' order and text are part of the data)."""
    if generator_available():
        index = [ROOT / "app" / "search" / name for name in ("index.py", "documents.py", "tokens.py")]
        return "gen-" + _digest(list((ROOT / "app" / "benchgen").rglob("*.py")) + index)
    return "seeddemo-" + _digest(list((ROOT / "app" / "seed").rglob("*.py")))


def cache_key(scale: str, seed: int) -> str:
    return f"{scale}-seed{seed}-{migration_head()}-{generator_version()}"


def _run_or_fail(args: list[str], url: str, what: str) -> None:
    t0 = time.perf_counter()
    print(f"  {what} …", flush=True)
    proc = flask(args, url)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{what} 失败（退出码 {proc.returncode}）：\n{(proc.stderr or proc.stdout)[-3000:]}"
        )
    print(f"  {what}：{time.perf_counter() - t0:.1f} s", flush=True)


def build(url: str, scale: str, seed: int) -> None:
    """Migrate an empty database and fill it (the generator, or the demo seed)."""
    _run_or_fail(["db", "upgrade"], url, "flask db upgrade")
    if generator_available():
        _run_or_fail(
            ["bench", "generate", "--scale", scale, "--seed", str(seed)], url, f"bench generate {scale}"
        )
    elif scale == "demo":
        print("  （app/benchgen 尚不存在：demo 规模改用 seed demo）", flush=True)
        _run_or_fail(["seed", "demo"], url, "flask seed demo")
    else:
        raise RuntimeError(
            f"数据生成器（app/benchgen，flask bench generate）尚不存在，无法生成 {scale} 规模的数据；"
            "可用 --source 指定已生成的 SQLite 文件。"
        )


def sqlite_copy(src: Path, dst: Path) -> None:
    """A consistent copy through SQLite's backup API (safe even if the source has a WAL)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def prepare_sqlite(scale: str, seed: int, work_dir: Path, source: Path | None) -> Prepared:
    work = work_dir / "bench.sqlite"
    url = f"sqlite:///{work}"
    if source is not None:
        if not source.exists():
            raise RuntimeError(f"找不到 --source 指定的数据库文件：{source}")
        t0 = time.perf_counter()
        sqlite_copy(source, work)
        how = f"复制自 {source}（{source.stat().st_size / 2**20:.0f} MB，{time.perf_counter() - t0:.1f} s）"
        _run_or_fail(["db", "upgrade"], url, "flask db upgrade（工作副本）")
        return Prepared(url, how)
    key = cache_key(scale, seed)
    cached = CACHE / f"{key}.sqlite"
    if cached.exists():
        how = f"缓存 {cached.relative_to(ROOT)}"
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        building = cached.with_suffix(".building")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        print(f"生成 {scale} 数据库（缓存键 {key}）…", flush=True)
        t0 = time.perf_counter()
        build(f"sqlite:///{building}", scale, seed)
        sqlite_copy(building, cached)  # folds any WAL into one file
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{building}{suffix}").unlink(missing_ok=True)
        how = f"新生成并缓存为 {cached.relative_to(ROOT)}（{time.perf_counter() - t0:.0f} s）"
        for stale in CACHE.glob(f"{scale}-seed{seed}-*.sqlite*"):
            if not stale.name.startswith(cached.name):  # an older migration head or generator
                stale.unlink(missing_ok=True)
    sqlite_copy(cached, work)
    return Prepared(url, how)


# ---------------------------------------------------------------- PostgreSQL


def _pg_admin(url: str):
    """An autocommit connection to the server's maintenance database."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    try:
        return psycopg.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 5432,
            user=u.username,
            password=u.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as exc:
        shown = u.render_as_string(hide_password=True)
        raise Unreachable(f"PostgreSQL 不可达（{shown}）：{str(exc).strip().splitlines()[0]}") from None


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def prepare_postgres(scale: str, seed: int) -> Prepared:
    """The cache is a template database named after the key; each run recreates the
    database named in BENCH_POSTGRES_URL from it."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("BENCH_POSTGRES_URL") or DEFAULT_POSTGRES
    work_name = make_url(url).database or "qj_bench"
    key = cache_key(scale, seed)
    cached_name = f"{work_name}_{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    with _pg_admin(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (cached_name,)).fetchone()
        t0 = time.perf_counter()
        if not exists:
            building = cached_name + "_building"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{building}"')
            print(f"生成 {scale} 数据库（缓存键 {key}，PostgreSQL {cached_name}）…", flush=True)
            build(_with_db(url, building), scale, seed)
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{cached_name}"')
            how = f"新生成并缓存为数据库 {cached_name}（{time.perf_counter() - t0:.0f} s，键 {key}）"
        else:
            how = f"缓存数据库 {cached_name}（键 {key}）"
        conn.execute(f'DROP DATABASE IF EXISTS "{work_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{work_name}" TEMPLATE "{cached_name}"')
    return Prepared(_with_db(url, work_name), how, server_version=version)


def clean_work_dir(work_dir: Path) -> None:
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
