"""search index: one document per findable object, its text and its tokens (issue 15)

Revision ID: 0014_search_index
Revises: 0013_assessment_reads
Create Date: 2026-12-06 23:00:00

`search_documents` holds, for each item, report thread, visit, finding, rectification,
circular and unit, the text the results show and its tokens (CJK runs as overlapping
bigrams, other words lower-cased). SQLite searches them through an FTS5 table kept in
step by triggers; PostgreSQL through the stored tsvector and its GIN index.

The existing rows are indexed here, with this migration's own SQL and a frozen copy of
the tokenizer (app/search/tokens.py), so an upgraded court finds its old data without
the migration depending on today's models.
"""

import re
from collections import defaultdict

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0014_search_index"
down_revision = "0013_assessment_reads"
branch_labels = None
depends_on = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(tokens, content='search_documents', "
    "content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    "INSERT INTO search_fts(rowid, tokens) VALUES (new.id, new.tokens); END",
    "CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens); END",
    "CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, tokens) VALUES ('delete', old.id, old.tokens); "
    "INSERT INTO search_fts(rowid, tokens) VALUES (new.id, new.tokens); END",
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_RUN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")


def _tokens(parts):
    out = []
    for part in parts:
        for m in _RUN.finditer(part or ""):
            run = m.group(0).lower()
            if m.group(1) and len(run) > 1:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
            else:
                out.append(run)
    return " ".join(out[:16000])


def _rows(conn, sql):
    return conn.execute(sa.text(sql)).mappings().all()


def _documents(conn):
    """(kind, object_id, unit_id, parent_id, title, body parts, indexed parts)"""
    for r in _rows(
        conn, "SELECT id, owner_unit_id, title, requirements, notes FROM tasks WHERE kind = 'task'"
    ):
        body = [r["requirements"], r["notes"]]
        yield "task", r["id"], r["owner_unit_id"], None, r["title"], body, [r["title"], *body]
    reports = defaultdict(list)
    for r in _rows(conn, "SELECT assignment_id, text FROM progress_reports ORDER BY id"):
        reports[r["assignment_id"]].append(r["text"])
    for r in _rows(
        conn,
        "SELECT a.id, a.unit_id, t.kind, t.title, t.requirements FROM assignments a JOIN tasks t ON t.id = a.task_id",
    ):
        texts = reports.get(r["id"], [])
        if r["kind"] == "rectification":
            body = [r["requirements"], *texts]
            yield "rectification", r["id"], r["unit_id"], None, r["title"], body, [r["title"], *body]
        elif texts:
            yield "report", r["id"], r["unit_id"], None, r["title"], texts, texts
    for r in _rows(
        conn,
        "SELECT id, organizer_unit_id, title, team, topics, summary, suggestions, solved_on_spot FROM visits",
    ):
        body = [r["topics"], r["summary"], r["suggestions"], r["solved_on_spot"], r["team"]]
        yield "visit", r["id"], r["organizer_unit_id"], None, r["title"], body, [r["title"], *body]
    for r in _rows(
        conn,
        "SELECT f.id, f.unit_id, f.visit_id, f.description, v.title FROM findings f JOIN visits v ON v.id = f.visit_id",
    ):
        yield (
            "finding",
            r["id"],
            r["unit_id"],
            r["visit_id"],
            r["title"],
            [r["description"]],
            [r["description"]],
        )
    for r in _rows(conn, "SELECT id, unit_id, title, body FROM circulars"):
        yield "circular", r["id"], r["unit_id"], None, r["title"], [r["body"]], [r["title"], r["body"]]
    aliases = defaultdict(list)
    for r in _rows(conn, "SELECT unit_id, name FROM unit_names WHERE kind != 'official' ORDER BY id"):
        aliases[r["unit_id"]].append(r["name"])
    for r in _rows(conn, "SELECT id, name FROM units"):
        names = aliases.get(r["id"], [])
        yield "unit", r["id"], r["id"], None, r["name"], names, [r["name"], *names]


def _backfill(conn):
    pg = conn.dialect.name == "postgresql"
    insert = sa.text(
        "INSERT INTO search_documents (kind, object_id, unit_id, parent_id, title, body, tokens, updated_at"
        + (", tsv" if pg else "")
        + ") VALUES (:kind, :object_id, :unit_id, :parent_id, :title, :body, :tokens, CURRENT_TIMESTAMP"
        + (", to_tsvector('simple'::regconfig, :tokens)" if pg else "")
        + ")"
    )
    batch = []
    for kind, object_id, unit_id, parent_id, title, body, indexed in _documents(conn):
        batch.append(
            {
                "kind": kind,
                "object_id": object_id,
                "unit_id": unit_id,
                "parent_id": parent_id,
                "title": (title or "")[:300],
                "body": "\n".join(p for p in body if p),
                "tokens": _tokens(indexed),
            }
        )
        if len(batch) >= 1000:
            conn.execute(insert, batch)
            batch = []
    if batch:
        conn.execute(insert, batch)


def upgrade():
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=15), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("tsv", sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql"), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("kind", "object_id", name=op.f("uq_search_documents_kind")),
    )
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.create_index("ix_search_documents_tsv", ["tsv"], unique=False, postgresql_using="gin")
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for ddl in FTS_DDL:
            conn.exec_driver_sql(ddl)
    _backfill(conn)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for trigger in ("search_documents_ai", "search_documents_ad", "search_documents_au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS search_fts")
    with op.batch_alter_table("search_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_search_documents_tsv", postgresql_using="gin")
    op.drop_table("search_documents")
