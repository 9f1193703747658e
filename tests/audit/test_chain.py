"""The SM3 hash chain: it verifies, and a direct edit of the database — a row changed,
deleted, swapped — breaks it at the right row; a purge leaves it verifiable."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.audit import services
from app.audit.chain import GENESIS, link_hash, sm3
from app.audit.models import AuditEntry
from app.errors import ServiceError
from app.extensions import db
from tests.audit.conftest import append, sql


def test_sm3_is_the_national_standard():
    """GB/T 32905-2016's own example: SM3("abc")."""
    assert sm3("abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_a_fresh_chain_verifies(app, rows):
    ids = append(5)
    result = services.verify()
    assert result.ok and result.rows == 5 and result.broken_at is None
    chain = rows()
    assert chain[0].prev_hash == GENESIS
    for before, row in zip(chain, chain[1:], strict=False):
        assert row.prev_hash == before.hash and row.hash == link_hash(before.hash, row)
    assert result.head == chain[-1].hash and [r.id for r in chain] == ids


@pytest.mark.parametrize(
    ("column", "value"),
    [("result", "'failure'"), ("username", "'someone_else'"), ("ip", "'10.0.0.9'"), ("at", "at")],
)
def test_an_edited_row_breaks_the_chain_at_that_row(app, column, value):
    ids = append(5)
    if column == "at":
        sql("UPDATE audit_log SET at = :at WHERE id = :id", at=datetime(2020, 1, 1), id=ids[2])
    else:
        sql(f"UPDATE audit_log SET {column} = {value} WHERE id = :id", id=ids[2])
    result = services.verify()
    assert result.broken_at == ids[2] and "被修改" in result.reason
    assert result.rows == 3  # counted up to the break


def test_an_edit_with_its_hash_recomputed_breaks_at_the_next_row(app):
    """A careful intruder recomputes the edited row's own hash: the next row's link
    still points at the old one."""
    ids = append(5)
    sql("UPDATE audit_log SET result = 'failure' WHERE id = :id", id=ids[2])
    row = db.session.get(AuditEntry, ids[2])
    sql("UPDATE audit_log SET hash = :h WHERE id = :id", h=link_hash(row.prev_hash, row), id=ids[2])
    result = services.verify()
    assert result.broken_at == ids[3] and "前序哈希" in result.reason


def test_a_deleted_row_breaks_the_chain_at_the_next_one(app):
    ids = append(5)
    sql("DELETE FROM audit_log WHERE id = :id", id=ids[1])
    result = services.verify()
    assert result.broken_at == ids[2] and "删除" in result.reason


def test_the_first_row_deleted_is_caught_too(app):
    ids = append(3)
    sql("DELETE FROM audit_log WHERE id = :id", id=ids[0])
    assert services.verify().broken_at == ids[1]


def test_two_swapped_rows_break_the_chain_at_the_first_of_them(app):
    """Swap everything but the ids of rows 2 and 3 (the order the chain was written in)."""
    ids = append(5)
    a, b = (db.session.get(AuditEntry, i) for i in ids[1:3])
    cols = ("at", "username", "action", "result", "prev_hash", "hash")
    va, vb = ({c: getattr(r, c) for c in cols} for r in (a, b))
    sets = ", ".join(f"{c} = :{c}" for c in cols)
    sql(f"UPDATE audit_log SET {sets} WHERE id = :id", id=ids[1], **vb)
    sql(f"UPDATE audit_log SET {sets} WHERE id = :id", id=ids[2], **va)
    result = services.verify()
    assert result.broken_at == ids[1] and "调换" in result.reason


def test_an_inserted_row_breaks_the_chain(app):
    ids = append(3)
    last = db.session.get(AuditEntry, ids[-1])
    sql(
        "INSERT INTO audit_log (at, action, result, prev_hash, hash) VALUES (:at, 'write', 'success', :p, :h)",
        at=last.at,
        p="f" * 64,
        h="e" * 64,
    )
    assert services.verify().broken_at == ids[-1] + 1


def test_the_tail_is_pinned_by_the_head_kept_outside(app):
    """Dropping the newest rows leaves a shorter chain that still links: that is what
    the head hash (printed by `audit verify`, kept outside the database) is for."""
    ids = append(4)
    head = services.verify().head
    sql("DELETE FROM audit_log WHERE id = :id", id=ids[-1])
    after = services.verify()
    assert after.ok and after.head != head


def test_purge_keeps_the_chain_verifiable_and_records_itself(app):
    now = datetime(2026, 6, 1, 12, 0)
    old = append(4, start=now - timedelta(days=400), step=timedelta(days=30))  # 400 … 310 days ago
    young = append(3, start=now - timedelta(days=10))
    deleted = services.purge(now - timedelta(days=300), today_utc=now)
    db.session.commit()
    assert deleted == 4
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.id.in_(old))) == 0
    result = services.verify()
    assert result.ok and result.rows == len(young) + 1
    purge_row = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.purge")).one()
    assert (
        purge_row.detail["deleted"] == 4
        and purge_row.detail["anchor"] == db.session.get(AuditEntry, young[0]).prev_hash
    )
    # … and a later purge still verifies from the new start.
    append(2, start=now)
    assert services.verify().ok


def test_purge_refuses_anything_younger_than_180_days(app):
    now = datetime(2026, 6, 1)
    ids = append(3, start=now - timedelta(days=200))
    with pytest.raises(ServiceError, match="至少保留 180 天"):
        services.purge(now - timedelta(days=179), today_utc=now)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == len(ids)
