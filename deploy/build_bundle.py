"""`make bundle`: one archive with everything an offline server needs.

    python deploy/build_bundle.py [--src DIR] [--version V] [--out DIR] [--wheelhouse-cache DIR]

writes dist/qiangji-<version>-py311-linux-x86_64.tar.gz holding the app (app/, migrations/,
wsgi.py, config.py, requirements.txt), a wheelhouse of every wheel for CPython 3.11 on
manylinux x86_64 (glibc 2.28 or newer: 麒麟 V10, 统信 UOS 20, RHEL/openEuler 8+), a lock
file with the SHA-256 of each wheel (installed with --no-index --require-hashes),
install.sh, the deployment files and BUNDLE_INFO (version, Python tag, platform).

The version is `git describe --tags --always` of the source tree (a tag such as v13 once
the lead tags releases; the commit's short hash until then), unless --version is given.
The app comes from --src (default: this checkout); install.sh and deploy/ always come
from this checkout, so an older commit can be bundled with today's installer (the
upgrade test does that)."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY_TAG = "cp311"
PY_VERSION = "3.11"
PLATFORM = "linux_x86_64"
# Newest first; nothing newer than glibc 2.28 so the bundle runs on 麒麟 V10 / UOS 20.
PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_26_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)
APP_ITEMS = ("app", "migrations", "wsgi.py", "config.py", "requirements.txt")
DEPLOY_FILES = (
    "qiangji-web.service",
    "qiangji-scheduler.service",
    "nginx-qiangji.conf",
    "nginx-static.conf",
    "qiangji.env.example",
    "gunicorn.conf.py",
)
WHEEL_RE = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


def git_version(src: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--tags", "--always"], cwd=src, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return time.strftime("%Y%m%d%H%M")
    return out.stdout.strip()


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def fill_wheelhouse(requirements: Path, wheelhouse: Path) -> None:
    """Binary wheels for the target; if a requirement has no wheel, build wheels with
    `pip wheel` on this machine (which must then itself be CPython 3.11 on x86_64 Linux)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    platform_args = [arg for plat in PLATFORMS for arg in ("--platform", plat)]
    try:
        _pip(
            "download",
            "--quiet",
            "--requirement",
            str(requirements),
            "--dest",
            str(wheelhouse),
            "--only-binary=:all:",
            "--python-version",
            PY_VERSION,
            "--implementation",
            "cp",
            "--abi",
            PY_TAG,
            "--abi",
            "abi3",
            "--abi",
            "none",
            *platform_args,
        )
    except subprocess.CalledProcessError:
        if sys.version_info[:2] != (3, 11):
            raise SystemExit(
                "有的依赖没有现成的 wheel，需要在本机编译：请用 Python 3.11 运行 make bundle。"
            ) from None
        print("有的依赖没有现成的 wheel：用 pip wheel 在本机编译……", file=sys.stderr)
        _pip("wheel", "--quiet", "--requirement", str(requirements), "--wheel-dir", str(wheelhouse))


def pip_version() -> str:
    from importlib.metadata import version

    return version("pip")


def add_pip(wheelhouse: Path, pinned: str) -> str:
    """pip itself, as a wheel: the server makes the venv `--without-pip` (Debian-based
    systems ship python3.11 without ensurepip) and runs pip from this wheel."""
    _pip(
        "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(wheelhouse), f"pip=={pinned}"
    )
    (wheel,) = wheelhouse.glob(f"pip-{pinned}-*.whl")
    return wheel.name


def write_lock(wheelhouse: Path, lock: Path) -> int:
    """One `name==version --hash=sha256:…` line per wheel in the wheelhouse."""
    lines = [
        "# 由 deploy/build_bundle.py 生成：安装时 pip install --no-index --require-hashes -r requirements.lock",
    ]
    wheels = sorted(wheelhouse.glob("*.whl"))
    for wheel in wheels:
        match = WHEEL_RE.match(wheel.name)
        if not match:
            raise SystemExit(f"无法识别的 wheel 文件名：{wheel.name}")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{match['name']}=={match['version']} --hash=sha256:{digest}")
    lock.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(wheels)


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith((".pyc", ".pyo"))}


def build(src: Path, version: str, out_dir: Path, cache: Path | None) -> Path:
    name = f"qiangji-{version}-py311-linux-x86_64"
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{name}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="qiangji-bundle-") as tmp:
        stage = Path(tmp) / name
        stage.mkdir()
        for item in APP_ITEMS:
            path = src / item
            if path.is_dir():
                shutil.copytree(path, stage / item, ignore=_ignore)
            else:
                shutil.copy2(path, stage / item)
        (stage / "deploy").mkdir()
        for item in DEPLOY_FILES:
            shutil.copy2(HERE / item, stage / "deploy" / item)
        shutil.copy2(HERE / "install.sh", stage / "install.sh")
        (stage / "install.sh").chmod(0o755)
        requirements = stage / "requirements.txt"
        pinned_pip = pip_version()
        req_hash = hashlib.sha256(requirements.read_bytes() + pinned_pip.encode()).hexdigest()[:16]
        wheelhouse = stage / "wheelhouse"
        cached = cache / req_hash if cache else None
        if cached is not None and cached.is_dir() and any(cached.glob("*.whl")):
            shutil.copytree(cached, wheelhouse)
        else:
            if cache is not None:
                cache.mkdir(parents=True, exist_ok=True)
            fill_wheelhouse(requirements, wheelhouse)
            add_pip(wheelhouse, pinned_pip)
            if cached is not None:  # atomically: parallel test workers share the cache
                partial = cached.with_name(f"{cached.name}.partial-{os.getpid()}")
                shutil.copytree(wheelhouse, partial)
                try:
                    partial.rename(cached)
                except OSError:  # another builder got there first
                    shutil.rmtree(partial)
        count = write_lock(wheelhouse, stage / "requirements.lock")
        (pip_wheel,) = wheelhouse.glob(f"pip-{pinned_pip}-*.whl")
        (stage / "BUNDLE_INFO").write_text(
            f"VERSION={version}\nPYTHON_TAG={PY_TAG}\nPYTHON_VERSION={PY_VERSION}\n"
            f"PLATFORM={PLATFORM}\nWHEELS={count}\nPIP_WHEEL={pip_wheel.name}\n"
            f"BUILT_AT={time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n",
            encoding="utf-8",
        )
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(stage, arcname=name)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="强基通离线安装包")
    parser.add_argument("--src", type=Path, default=ROOT, help="程序源代码目录（默认本目录）")
    parser.add_argument("--version", help="版本号（默认 git describe --tags --always）")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument(
        "--wheelhouse-cache",
        type=Path,
        default=Path(os.environ["QIANGJI_WHEELHOUSE_CACHE"])
        if os.environ.get("QIANGJI_WHEELHOUSE_CACHE")
        else None,
        help="按 requirements.txt 内容缓存下载的 wheel（测试用）",
    )
    args = parser.parse_args(argv)
    src = args.src.resolve()
    version = args.version or git_version(src)
    if not re.fullmatch(r"[A-Za-z0-9._+-]+", version):
        print(f"版本号“{version}”只能包含字母、数字和 . _ + -", file=sys.stderr)
        return 1
    started = time.monotonic()
    archive = build(src, version, args.out.resolve(), args.wheelhouse_cache)
    size = archive.stat().st_size
    print(f"{archive}  {size / 1024 / 1024:.1f} MiB  （{time.monotonic() - started:.0f} 秒）")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
