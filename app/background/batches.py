"""How an import runs as a background job: its check in batches, each a transaction of
its own that is rolled back (the rows are only tried), so that SQLite's write lock is
held one batch at a time and others write in between; its commit in one transaction,
telling the job's page how far it has got. The rows and handlers are the importers'
own (app.importing.run_rows semantics: one savepoint per row, errors on the row).
(The task-list import checks its rows in memory, writing nothing, and needs neither:
app.importing.check_rows, app.tasks.importer.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.extensions import db
from app.importing import DUPLICATE, Progress, run_rows

YIELD_SECONDS = 0.11  # SQLite: the write lock left free this long after each batch


def dry_run_in_batches(
    rows: list[dict],
    handler: Callable[[dict], Any],
    *,
    key: Callable[[dict], str],
    progress: Progress,
    size: int,
    offset: int = 0,
    total: int | None = None,
) -> int:
    """The dry run of `run_rows(rows, handler, dry_run=True, key=key)`, `size` rows per
    transaction. Only for rows that do not depend on one another but for their keys: a
    key repeated in a later batch is found here, across batches, as one run over all
    rows finds it. Returns the number of bad rows; `progress` hears offset + rows done."""
    total = total if total is not None else offset + len(rows)
    seen: set[str] = set()
    repeated = []
    for row in rows:
        if row.get("skip") or row.get("parse_errors"):
            continue
        k = key(row)
        if k and k in seen:
            repeated.append(row)
            row["skip"] = True  # not tried; marked below
        seen.add(k)
    db.session.rollback()  # the reads so far: no transaction held between batches
    progress(offset, total)
    bad = 0
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    for start in range(0, len(rows), size):
        bad += run_rows(rows[start : start + size], handler, dry_run=True)
        db.session.rollback()  # nothing was kept: end the transaction, let others write
        progress(offset + min(start + size, len(rows)), total)
        if sqlite:
            # A writer waiting for SQLite's lock retries every 100 ms (its busy handler):
            # a gap shorter than that and it would wait for the whole sheet.
            time.sleep(YIELD_SECONDS)
    for row in repeated:
        row["skip"] = False
        row["errors"] = [DUPLICATE]
    return bad + len(repeated)


def counting(handler: Callable[[dict], Any], progress: Progress, *, total: int) -> Callable[[dict], Any]:
    """The handler, telling `progress` how many rows are done as it goes."""
    done = 0
    progress(0, total)

    def handle(row: dict) -> Any:
        nonlocal done
        result = handler(row)
        done += 1
        progress(done, total)
        return result

    return handle
