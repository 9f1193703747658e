"""The benchmark of issue 11: `python -m bench run --scale demo|province|nation --db sqlite|postgresql`.

It builds (or reuses from its cache) a database of the chosen scale, serves it with
gunicorn on loopback as production would (SQL_PROFILE_HEADERS=1, so every answer says
how many statements it ran and how long they took), logs in as the demo accounts and
times the pages, the API lists, the exports, an import, the month-end circular, the
reminder sweep and `wrk` — then prints and writes a Markdown table, each figure beside
its target. A missed target is a line saying 未达标, not a failure: exit code 0.

Modules: `stats` (percentiles), `targets` (what each figure must meet), `report` (the
table and the machine), `database` (build, cache, copy), `server` (gunicorn and its
worker's memory), `client` (a logged-in browser or API caller), `prepare` (ids and a
wall token read from the working copy), `operations` (import, export, circular, sweep,
wrk), `runner` (the order of it all). `bench_lists.py` is the older in-process
benchmark (test client, no gunicorn); it is kept as it is for quick looks at one page."""
