"""The search index: one row per findable object (an item, a report thread, a visit, a
finding, a rectification, a circular, a unit), holding the text shown in the results and
its tokens (app.search.tokens). SQLite searches the tokens through an FTS5 table kept in
step by triggers (created with the table, see `FTS_DDL`); PostgreSQL through the stored
`tsv` vector and its GIN index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow

FTS_TABLE = "search_fts"
# External-content FTS5 over search_documents.tokens: the unicode61 tokenizer splits the
# tokens on the spaces between them (each CJK bigram is one token); the triggers keep it
# in step with every insert, update and delete of a document, whoever makes it.
FTS_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(tokens, content='search_documents', "
    "content_rowid='id', tokenize='unicode61')",
    f"CREATE TRIGGER search_documents_ai AFTER INSERT ON search_documents BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, tokens) VALUES (new.id, new.tokens); END",
    f"CREATE TRIGGER search_documents_ad AFTER DELETE ON search_documents BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, tokens) VALUES ('delete', old.id, old.tokens); END",
    f"CREATE TRIGGER search_documents_au AFTER UPDATE ON search_documents BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, tokens) VALUES ('delete', old.id, old.tokens); "
    f"INSERT INTO {FTS_TABLE}(rowid, tokens) VALUES (new.id, new.tokens); END",
)


class SearchDocument(db.Model):
    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("kind", "object_id"),
        # PostgreSQL's full-text index; on SQLite the column stays empty (FTS5 serves it)
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        # a kind's newest matches (search with a kind chosen): PostgreSQL reads this kind's
        # documents newest first instead of every document's (0023_search_kind_index)
        Index("ix_search_documents_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(15))
    object_id: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    # the object whose page shows this one, when it has none of its own (a finding's visit)
    parent_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    tokens: Mapped[str] = mapped_column(Text, default="")
    tsv: Mapped[str | None] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def is_fts_object(name: str | None) -> bool:
    """The FTS5 table and its shadow tables: made by DDL, not by the models (alembic
    must neither create nor drop them)."""
    return bool(name) and name.startswith(FTS_TABLE)


for _ddl in FTS_DDL:
    event.listen(SearchDocument.__table__, "after_create", DDL(_ddl).execute_if(dialect="sqlite"))
