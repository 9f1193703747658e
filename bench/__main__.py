"""`python -m bench run --scale demo|province|nation --db sqlite|postgresql [--quick] [--only RE] [--port N]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.runner import Options, Run


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description="强基通基准测试（issue 11）")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="生成或复用数据库，启动 gunicorn，测量并写出结果表")
    run.add_argument("--scale", choices=("demo", "province", "nation"), default="demo")
    run.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    run.add_argument("--quick", action="store_true", help="冒烟：少测几次，wrk 5 s，导入 200 行")
    run.add_argument("--only", metavar="PATTERN", help="只测键或名称匹配此正则的项，如 'list|my|wrk'")
    run.add_argument("--skip", metavar="PATTERN", help="跳过键或名称匹配此正则的项，如 'sweep'")
    run.add_argument(
        "--port", type=int, default=5301, help="第一个 gunicorn 的端口（第二个用下一个），5301–5320"
    )
    run.add_argument("--seed", type=int, default=1)
    run.add_argument(
        "--source",
        type=Path,
        help="SQLite：从这个已生成的数据库文件开始（复制，不修改），不用缓存和生成器",
    )
    run.add_argument(
        "--sweep-limit",
        type=float,
        default=1800.0,
        metavar="S",
        help="提醒扫描超过这么多秒即中止（默认 1800）",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.source is not None and args.db != "sqlite":
        print("--source 只用于 SQLite。", file=sys.stderr)
        return 2
    options = Options(
        scale=args.scale,
        db=args.db,
        quick=args.quick,
        only=args.only,
        skip=args.skip,
        port=args.port,
        seed=args.seed,
        source=args.source,
        sweep_limit=args.sweep_limit,
    )
    return Run(options).main()


if __name__ == "__main__":
    sys.exit(main())
