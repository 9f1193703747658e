"""Ids and integers that do not fit the database: a 404 (or another 4xx), never a 500,
on SQLite and PostgreSQL — for every `<int:…>` route and every integer query argument."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.security.conftest import HUGE_IDS

APP_DIR = Path(__file__).resolve().parents[2] / "app"
# Values past what the database holds, or not integers a route should take.
BAD_IDS = [*HUGE_IDS, 0, "9" * 5000, "1" + "0" * 30]


def test_every_int_route_is_bounded(app):
    """Each `<int:…>` argument in the URL map is the bounded database-id converter."""
    from app.security.hardening import DatabaseIdConverter

    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    assert len(rules) > 60
    for rule in rules:
        for name, conv in rule._converters.items():
            if f"<int:{name}>" in rule.rule:
                assert isinstance(conv, DatabaseIdConverter), rule.rule
                assert (conv.min, conv.max) == (1, 2**31 - 1)


def test_huge_ids_answer_4xx_on_every_route(db, app, demo, as_user, net_unused):
    """As the high court's reviewer: every int route × method × bad id → 4xx (404 for ids)."""
    c = as_user("lnfy")
    rules = [r for r in app.url_map.iter_rules() if "<int:" in r.rule]
    calls = 0
    failures = []
    for rule in rules:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for value in BAD_IDS:
                path = rule.rule
                for name in rule.arguments:
                    path = re.sub(rf"<[^>]*?\b{name}>", str(value), path)
                resp = c.open(path, method=method, data={"version": "1"})
                calls += 1
                if not 400 <= resp.status_code < 500:
                    failures.append(f"{method} {rule.rule} [{str(value)[:12]}] → {resp.status_code}")
                elif method == "GET" and resp.status_code != 404:
                    failures.append(
                        f"{method} {rule.rule} [{str(value)[:12]}] → {resp.status_code} (not 404)"
                    )
    assert not failures, "\n".join(failures)
    assert calls >= len(rules) * len(BAD_IDS)


def _int_query_args() -> list[str]:
    """Names the views read as integers from the query string, found in the source."""
    names: set[str] = set()
    for path in APP_DIR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r"""args\.get\(\s*["'](\w+)["'][^)]*type=int""", text))
        names.update(re.findall(r"""values\.get\(\s*["'](\w+)["'][^)]*type=int""", text))
        names.update(re.findall(r"""arg_int\(\s*["'](\w+)["']""", text))
        names.update(re.findall(r"""args\.getlist\(\s*["'](\w+)["']""", text))
    return sorted(names | {"unit", "project", "page", "size", "months", "ids", "organizer", "parent"})


def test_integer_query_arguments_that_overflow_are_ignored_or_refused(db, app, demo, as_user, net_unused):
    """Every GET page without path arguments, with every integer argument set past the range."""
    names = _int_query_args()
    assert {"page", "unit"} <= set(names)
    c = as_user("lnfy")
    failures = []
    pages = [
        r.rule
        for r in app.url_map.iter_rules()
        if "GET" in (r.methods or set()) and not r.arguments and not r.rule.startswith("/static")
    ]
    for url in pages:
        # /readyz answers 503 while no scheduler runs (its meaning): only a 5xx that the
        # arguments cause counts
        plain = c.get(url).status_code
        for value in (2**31, -(2**63), 2**64, "9" * 5000):
            query = "&".join(f"{n}={value}" for n in names)
            resp = c.get(f"{url}?{query}")
            if resp.status_code >= 500 and resp.status_code != plain:
                failures.append(f"{url} [{str(value)[:12]}] → {resp.status_code}")
            elif resp.status_code >= 500:
                assert url == "/readyz", f"{url} answers {plain} without arguments"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("value", [str(2**31), str(2**64), "-1", "0", "1e3", "１２"])
def test_the_wall_and_the_api_take_bounded_ids(db, demo, as_user, net_unused, value):
    """The API's unit detail and the wall (a token route) never answer 5xx for odd ids."""
    c = as_user("lnfy")
    assert c.get(f"/api/v1/units/{value}").status_code == 404
    assert c.get(f"/wall/{value}").status_code in (404, 410)
