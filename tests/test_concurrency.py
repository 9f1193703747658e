"""Several writers at once (gunicorn workers): no 'database is locked', no lost update.

Four processes each add 1 to a counter kept on one unit, 25 times, through the
real service with its version check. Whatever the interleaving, the counter must
end at 100 and no process may die on a lock error."""

import multiprocessing as mp

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.org.models import Unit

WORKERS = 4
ROUNDS = 25


def _worker(url: str, unit_id: int, rounds: int, out) -> None:
    from app import create_app
    from app.errors import Conflict
    from app.org import services
    from app.timeutil import utcnow

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    done = conflicts = 0
    errors: list[str] = []
    with app.app_context():
        while done < rounds and len(errors) < 5:
            unit = db.session.get(Unit, unit_id)
            count = int(unit.feature_label or 0)
            try:
                services.update_unit(
                    None,
                    unit,
                    name=unit.name,
                    tribunal_kind=unit.tribunal_kind,
                    feature_label=str(count + 1),
                    aliases=unit.aliases,
                    expected_version=unit.version,
                    now=utcnow(),
                )
                db.session.commit()
                done += 1
            except (Conflict, StaleDataError):
                db.session.rollback()
                conflicts += 1
            except OperationalError as exc:
                db.session.rollback()
                errors.append(str(exc).splitlines()[0])
        db.engine.dispose()
    out.put((done, conflicts, errors))


def test_concurrent_read_modify_write_loses_nothing(app, db, tree, database_url):
    """4 processes × 25 increments through the service → exactly 100."""
    unit_id = tree.base1.id
    db.session.commit()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(database_url, unit_id, ROUNDS, out)) for _ in range(WORKERS)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [e for _, _, errs in results for e in errs]
    assert errors == [], errors
    assert sum(done for done, _, _ in results) == WORKERS * ROUNDS
    db.session.expire_all()
    assert db.session.get(Unit, unit_id).feature_label == str(WORKERS * ROUNDS)
