"""The offline bundle: built with `deploy/build_bundle.py` (needs the package registry),
installed inside a network namespace with no route out (`unshare -n`), started and logged
into; then an upgrade from the previous release keeps every row and file.

Slow (a pip download of ~40 wheels, venvs, the demo data): the wheelhouse is downloaded
once per run and shared by the xdist workers (QIANGJI_WHEELHOUSE_CACHE keeps it between
runs). Needs root for `unshare -n`: skipped with the reason otherwise, failed when
REQUIRE_OFFLINE_INSTALL=1 (CI)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / "deploy" / "build_bundle.py"
PASSWORD = "Qj#2026-offline"
TIMINGS: dict[str, float] = {}


def _require_offline() -> bool:
    return os.environ.get("REQUIRE_OFFLINE_INSTALL", "") == "1"


def _skip_or_fail(reason: str) -> None:
    if _require_offline():
        pytest.fail(reason + "（REQUIRE_OFFLINE_INSTALL=1）")
    pytest.skip(reason)


def _python311() -> str:
    found = shutil.which("python3.11")
    if not found:
        _skip_or_fail("本机没有 python3.11，无法测试安装包")
    return found


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory) -> Path:
    cache = os.environ.get("QIANGJI_WHEELHOUSE_CACHE")
    if cache:
        return Path(cache)
    if os.environ.get("PYTEST_XDIST_WORKER"):  # one download for all workers of this run
        return tmp_path_factory.getbasetemp().parent / "wheelhouse-cache"
    return tmp_path_factory.mktemp("wheelhouse-cache")


def build_bundle(src: Path, version: str, out: Path, cache: Path) -> Path:
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            str(BUILDER),
            "--src",
            str(src),
            "--version",
            version,
            "--out",
            str(out),
            "--wheelhouse-cache",
            str(cache),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        if "Could not" in proc.stderr or "No matching distribution" in proc.stderr:
            _skip_or_fail(f"无法从软件包源下载 wheel：{proc.stderr.strip().splitlines()[-1]}")
        pytest.fail(proc.stderr)
    TIMINGS[f"build {version}"] = time.monotonic() - started
    archive = out / f"qiangji-{version}-py311-linux-x86_64.tar.gz"
    assert archive.is_file()
    return archive


def unpack(archive: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(where, filter="tar")
    (bundle,) = [p for p in where.iterdir() if p.is_dir()]
    return bundle


@pytest.fixture(scope="session")
def current_bundle(tmp_path_factory, wheel_cache) -> Path:
    out = tmp_path_factory.mktemp("dist")
    version = (
        subprocess.run(
            ["git", "describe", "--tags", "--always"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        or "dev"
    )
    return build_bundle(ROOT, f"{version}-new", out, wheel_cache)


def layout(base: Path) -> dict[str, str]:
    return {
        "PREFIX": str(base / "opt"),
        "ETC_DIR": str(base / "etc"),
        "DATA_DIR": str(base / "data"),
        "PYTHON": _python311(),
    }


def run_install(bundle: Path, env: dict[str, str], *, offline: bool = False, timeout: int = 300):
    full = {
        k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DATABASE_", "SECRET_", "UPLOAD_"))
    }
    full.update(env)
    cmd = [str(bundle / "install.sh"), "--no-system"]
    if offline:
        cmd = ["unshare", "-n", *cmd]
    return subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)


def read_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = value
    return out


# ---------------------------------------------------------------- offline install


SYSTEM_PYTHON = (
    "/usr/bin/python3.11"  # the distribution's, as on a court's server (pyenv's lives under /root)
)


def test_offline_install_starts_and_logs_in(current_bundle, tmp_path):
    """`sudo ./install.sh` on a server with no route out: the system account, ownership, the
    systemd units, the service account running the app."""
    if os.geteuid() != 0 or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        _skip_or_fail("不能创建网络命名空间（unshare -n 需要 root）")
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        _skip_or_fail(f"本机没有系统自带的 {SYSTEM_PYTHON}（服务账号无法使用 /root 下的 Python）")
    bundle = unpack(current_bundle, tmp_path / "bundle")
    # under /tmp with 755, not pytest's 700 directory: the service account must reach its files
    base = Path(tempfile.mkdtemp(prefix="qj-system-", dir="/tmp"))
    base.chmod(0o755)
    user = f"qjt{os.getpid() % 100000}"
    paths = {
        "PREFIX": str(base / "opt"),
        "ETC_DIR": str(base / "etc"),
        "DATA_DIR": str(base / "data"),
        "SYSTEMD_DIR": str(base / "systemd"),
        "SERVICE_USER": user,
        "PYTHON": SYSTEM_PYTHON,
    }
    opt = Path(paths["PREFIX"])
    data = Path(paths["DATA_DIR"])
    login = base / "login.py"
    login.write_text(
        textwrap.dedent(
            """
            import http.cookiejar, re, sys, time, urllib.parse, urllib.request
            base = sys.argv[1]
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            for _ in range(100):
                try:
                    opener.open(base + "/healthz", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            page = opener.open(base + "/login").read().decode()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
            form = urllib.parse.urlencode({"csrf_token": token, "username": "itadmin", "password": sys.argv[2]})
            reply = opener.open(base + "/login", data=form.encode())
            body = reply.read().decode()
            print(reply.status, urllib.parse.urlparse(reply.geturl()).path)
            print("强基通" in body, "登录" in body and 'name="password"' in body)
            """
        )
    )
    login.chmod(0o644)
    pid_file = data / "gunicorn.pid"
    script = tmp_path / "offline.sh"
    script.write_text(
        textwrap.dedent(
            f"""\
            set -euo pipefail
            ip link set lo up
            # no route out: anything but loopback fails
            if python3 -c 'import socket; socket.create_connection(("1.1.1.1", 443), timeout=2)' 2>/dev/null; then
                echo "network is reachable" >&2; exit 3
            fi
            start=$(date +%s.%N)
            {bundle}/install.sh
            end=$(date +%s.%N)
            echo "INSTALL_SECONDS=$(python3 -c "print(round($end - $start, 1))")"
            sed -i 's/^SESSION_COOKIE_SECURE=1/SESSION_COOKIE_SECURE=0/' {paths["ETC_DIR"]}/qiangji.env
            QIANGJI_ADMIN_PASSWORD='{PASSWORD}' {opt}/bin/qiangji users create-admin itadmin --name 张三 \\
                --unit 辽宁省高级人民法院
            set -a; . {paths["ETC_DIR"]}/qiangji.env; set +a
            cd {opt}/current
            # as the unit does it: the service account, the env file's variables
            WEB_BIND=127.0.0.1:18613 WEB_WORKERS=2 runuser -u {user} -- venv/bin/gunicorn \\
                --config deploy/gunicorn.conf.py --daemon --pid {pid_file} wsgi:app
            trap 'kill $(cat {pid_file}) 2>/dev/null || true' EXIT
            {opt}/current/venv/bin/python {login} http://127.0.0.1:18613 '{PASSWORD}'
            echo "WEB_USER=$(ps -o user= -p $(cat {pid_file}))"
            """
        )
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("APP_", "DATABASE_", "SECRET_", "UPLOAD_"))
    }
    env.update(paths)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            ["unshare", "-n", "bash", str(script)], env=env, capture_output=True, text=True, timeout=300
        )
        TIMINGS["offline install + start + login"] = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout + proc.stderr
        lines = proc.stdout.strip().splitlines()
        install_seconds = float(next(x for x in lines if x.startswith("INSTALL_SECONDS=")).split("=")[1])
        TIMINGS["install.sh without network"] = install_seconds
        assert lines[-1] == f"WEB_USER={user}", proc.stdout
        status, path = lines[-3].split()
        assert status == "200" and path != "/login", proc.stdout
        assert lines[-2] == "True False", proc.stdout  # a page of the app, not the login form again
        assert f"已创建系统账号 {user}" in proc.stdout
        # The static files nginx serves: hashed names with .gz beside them.
        build = opt / "current" / "static-build"
        assert (build / "manifest.json").is_file() and list(build.rglob("*.css.gz")), proc.stdout
        # What the installer promised: env file 600 (root, the service's group) with a fresh
        # secret; code owned by root, data by the service account; standards, no demo.
        uid = int(subprocess.run(["id", "-u", user], capture_output=True, text=True, check=True).stdout)
        env_file = Path(paths["ETC_DIR"]) / "qiangji.env"
        assert oct(env_file.stat().st_mode & 0o777) == "0o600" and env_file.stat().st_uid == 0
        secret = read_env(env_file)["SECRET_KEY"]
        assert len(secret) == 64 and secret != "请替换为随机密钥"
        db_file = data / "qiangji.sqlite"
        assert data.stat().st_uid == uid and db_file.stat().st_uid == uid
        assert oct(data.stat().st_mode & 0o777) == "0o750"
        assert (opt / "current" / "wsgi.py").stat().st_uid == 0
        assert "载入内置检查标准" in proc.stdout and "users create-admin" in proc.stdout
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("select count(*) from checklist_templates").fetchone()[0] >= 3
            assert conn.execute("select count(*) from users").fetchone()[0] == 1  # no demo accounts
            assert conn.execute("select count(*) from units").fetchone()[0] == 1
        # The two units, rewritten for this installation (no systemd runs here: written, not started).
        units = {p.name: p.read_text(encoding="utf-8") for p in Path(paths["SYSTEMD_DIR"]).iterdir()}
        assert set(units) == {"qiangji-web.service", "qiangji-scheduler.service"}
        for text_ in units.values():
            assert f"User={user}" in text_ and f"EnvironmentFile={env_file}" in text_
            assert f"{opt}/current/venv/bin/" in text_ and "/opt/qiangji" not in text_
            assert "Restart=on-failure" in text_ and "StandardOutput=journal" in text_
        assert "服务文件已写入" in proc.stdout
        # the nginx files name this installation's paths
        static_conf = (opt / "current" / "deploy" / "nginx-static.conf").read_text(encoding="utf-8")
        assert f"root {opt}/current/static-build;" in static_conf
        site_conf = (opt / "current" / "deploy" / "nginx-qiangji.conf").read_text(encoding="utf-8")
        assert f"include {opt}/current/deploy/nginx-static.conf;" in site_conf
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_bundle_for_another_python_is_refused(current_bundle, tmp_path):
    bundle = unpack(current_bundle, tmp_path / "bundle")
    info = bundle / "BUNDLE_INFO"
    info.write_text(
        info.read_text()
        .replace("PYTHON_TAG=cp311", "PYTHON_TAG=cp312")
        .replace("PYTHON_VERSION=3.11", "PYTHON_VERSION=3.12")
    )
    paths = layout(tmp_path)
    proc = run_install(bundle, paths)
    assert proc.returncode == 1
    assert "本安装包是为 Python 3.12（cp312）打的" in proc.stderr and "未做任何改动" in proc.stderr
    assert not Path(paths["PREFIX"]).exists() and not Path(paths["ETC_DIR"]).exists()


# ---------------------------------------------------------------- upgrade


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def _chain(rev: str) -> dict[str, str | None]:
    """{revision: down_revision} of the migrations in a commit."""
    chain: dict[str, str | None] = {}
    for name in _git("ls-tree", "--name-only", rev, "migrations/versions/").split():
        if not name.endswith(".py"):
            continue
        text_ = _git("show", f"{rev}:{name}")
        found = re.search(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", text_, re.M)
        down = re.search(r"^down_revision\s*=\s*(?:['\"]([^'\"]+)['\"]|None)", text_, re.M)
        if found and down:
            chain[found.group(1)] = down.group(1)
    return chain


def previous_release() -> str:
    """The newest earlier commit whose migrations are a strict beginning of this one's chain
    (same links, one head), so the upgrade runs at least one migration. Commits in between
    whose migrations were still being put in line (parts merged with their own parents and
    re-chained after) are not releases and are passed over."""
    current = _chain("HEAD")
    for rev in _git("rev-list", "--first-parent", "HEAD~1", "--", "migrations/versions").split():
        chain = _chain(rev)
        heads = set(chain) - {d for d in chain.values() if d}
        if (
            len(chain) < len(current)
            and len(heads) == 1
            and all(current.get(r) == d for r, d in chain.items())
        ):
            return _git("rev-parse", "--short", rev).strip()
    raise AssertionError("no earlier commit with a beginning of this chain of migrations")


@pytest.fixture(scope="session")
def old_bundle(tmp_path_factory, wheel_cache) -> Path:
    rev = previous_release()
    src = tmp_path_factory.mktemp("old-src")
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    return build_bundle(src, rev, tmp_path_factory.mktemp("dist-old"), wheel_cache)


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
        found = {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}
    engine.dispose()
    return found


def revision(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return found


def inserted_by_migrations(old_revision: str, where: Path) -> dict[str, int]:
    """{table: rows the migrations after `old_revision` insert into an empty database}."""
    from flask_migrate import upgrade

    from app import create_app

    where.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, target in (("old", old_revision), ("head", "head")):
        url = f"sqlite:///{where / name}.sqlite"
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision=target)
            from app.extensions import db

            db.engine.dispose()
        found[name] = counts(url)
    assert found["old"].keys() <= found["head"].keys()
    return {t: n - found["old"].get(t, 0) for t, n in found["head"].items() if n != found["old"].get(t, 0)}


@pytest.fixture
def install_base(backend, tmp_path) -> tuple[dict[str, str], str]:
    paths = layout(tmp_path)
    if backend == "sqlite":
        return paths, f"sqlite:///{paths['DATA_DIR']}/qiangji.sqlite"
    pg = os.environ.get("TEST_POSTGRES_URL", "")
    if not pg:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL 不可用：未设置 TEST_POSTGRES_URL（REQUIRE_POSTGRES=1）")
        pytest.skip("PostgreSQL 不可用：未设置 TEST_POSTGRES_URL")
    target = make_url(pg).set(database=f"{make_url(pg).database}_upgrade")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        ).scalar():
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(target)  # emptied, not re-created: CREATE DATABASE waits for a checkpoint
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    url = target.render_as_string(hide_password=False)
    etc = Path(paths["ETC_DIR"])
    etc.mkdir(parents=True)
    (etc / "qiangji.env").write_text(
        f"APP_CONFIG=production\nSECRET_KEY={'a1' * 32}\nDATABASE_URL={url}\n"
        f"UPLOAD_DIR={paths['DATA_DIR']}/uploads\nBACKUP_DIR={paths['DATA_DIR']}/backups\n"
    )
    return paths, url


def test_upgrade_keeps_every_row_and_file(old_bundle, current_bundle, install_base, tmp_path):
    paths, url = install_base
    opt = Path(paths["PREFIX"])
    old = unpack(old_bundle, tmp_path / "old")
    started = time.monotonic()
    proc = run_install(old, paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    old_release = (opt / "current").resolve()
    # Data: the demo (every kind of row) and an evidence file.
    qiangji = [str(opt / "bin" / "qiangji")]
    env = {**os.environ, **paths}
    subprocess.run([*qiangji, "seed", "demo"], env=env, check=True, capture_output=True)
    upload_dir = Path(read_env(Path(paths["ETC_DIR"]) / "qiangji.env")["UPLOAD_DIR"])
    evidence = upload_dir / "2026" / "12" / "证据.bin"
    evidence.parent.mkdir(parents=True)
    evidence.write_bytes(os.urandom(200_000))
    digest = hashlib.sha256(evidence.read_bytes()).hexdigest()
    before = counts(url)
    assert before["users"] > 10 and before["assignments"] > 0
    old_revision = revision(url)

    new = unpack(current_bundle, tmp_path / "new")
    proc = run_install(new, paths)
    TIMINGS[f"install N + demo + upgrade ({'sqlite' if url.startswith('sqlite') else 'postgresql'})"] = (
        time.monotonic() - started
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "升级前备份" in proc.stdout and "升级完成" in proc.stdout
    backups = list((Path(paths["DATA_DIR"]) / "backups").glob("pre-upgrade-*.tar.gz"))
    assert len(backups) == 1 and backups[0].stat().st_size > 10_000
    new_release = (opt / "current").resolve()
    assert new_release != old_release and old_release.is_dir()  # the old one stays for a rollback
    after = counts(url)
    # every row kept; the run log gains the pre-upgrade backup's own entry (数据备份, 命令行), and
    # each table the rows the new migrations insert themselves (reference rows, e.g. a new
    # reminder rule) — measured by migrating two empty databases, to N's revision and to head
    added = inserted_by_migrations(old_revision, tmp_path / "reference")
    assert after["sweep_runs"] == before["sweep_runs"] + 1
    assert {t: after[t] for t in before if t != "sweep_runs"} == {
        t: n + added.get(t, 0) for t, n in before.items() if t != "sweep_runs"
    }
    assert hashlib.sha256(evidence.read_bytes()).hexdigest() == digest
    check = subprocess.run([*qiangji, "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "数据库结构为最新版本" in check.stdout  # the new migrations ran

    # Running the same bundle again changes nothing.
    again = run_install(new, paths)
    assert again.returncode == 0 and "无需升级" in again.stdout


def relabel(bundle: Path, version: str) -> Path:
    """The same bundle as a newer version (cheap: no second build)."""
    info = bundle / "BUNDLE_INFO"
    info.write_text(re.sub(r"^VERSION=.*$", f"VERSION={version}", info.read_text(), flags=re.M))
    return bundle


def test_upgrade_refusals_change_nothing(current_bundle, tmp_path):
    """Version N is this bundle, N+1 the same relabelled: the refusals come before any build."""
    paths = layout(tmp_path)
    opt = Path(paths["PREFIX"])
    assert run_install(unpack(current_bundle, tmp_path / "old"), paths).returncode == 0
    old_release = (opt / "current").resolve()
    env_file = Path(paths["ETC_DIR"]) / "qiangji.env"
    new = relabel(unpack(current_bundle, tmp_path / "new"), "99.0-next")

    # The backup fails (its directory is under a file): stop, nothing changed.
    original = env_file.read_text()
    (tmp_path / "not-a-dir").write_text("x")
    env_file.write_text(original + f"BACKUP_DIR={tmp_path / 'not-a-dir' / 'backups'}\n")
    proc = run_install(new, paths)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "升级前备份失败，升级已停止" in proc.stderr
    assert (opt / "current").resolve() == old_release
    assert sorted(p.name for p in (opt / "releases").iterdir()) == [old_release.name]
    env_file.write_text(original)

    # A missing env file: refused before anything is touched.
    env_file.rename(tmp_path / "kept.env")
    proc = run_install(new, paths)
    assert proc.returncode == 1
    assert f"找不到配置文件 {env_file}" in proc.stderr and "未做任何改动" in proc.stderr
    assert (opt / "current").resolve() == old_release
    (tmp_path / "kept.env").rename(env_file)

    # A migration that fails: the backup was made, rollback instructions, exit 1.
    versions = new / "migrations" / "versions"
    newest = max(versions.glob("*.py")).stem
    (versions / "9999_broken.py").write_text(
        f'revision = "9999_broken"\ndown_revision = "{newest}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade():\n    raise RuntimeError('迁移测试：故意失败')\n\n\ndef downgrade():\n    pass\n"
    )
    proc = run_install(new, paths)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "数据库迁移失败，升级未完成" in proc.stderr
    assert f'ln -sfn "{old_release}" "{opt / "current"}"' in proc.stderr
    backups = list((Path(paths["DATA_DIR"]) / "backups").glob("pre-upgrade-*.tar.gz"))
    assert len(backups) == 1 and f'backup restore --force "{backups[0]}"' in proc.stderr
    # The services stay down on the new release until someone follows the instructions.
    assert (opt / "current").resolve().name == "99.0-next"
    # Step 1 of the instructions: the old release runs again on its database.
    subprocess.run(["ln", "-sfn", str(old_release), str(opt / "current")], check=True)
    check = subprocess.run(
        [str(opt / "bin" / "qiangji"), "check"], env={**os.environ, **paths}, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
