"""SQLite: products written by an import are indexed for search in bulk

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 11:45:00

The per-row FTS5 insert trigger costs about 100 µs a row (measured: 13 s for
100,000 products, against 3.4 s for the same rows indexed by one INSERT … SELECT
per batch). Rows an import creates carry ``import_job_id``; the trigger now
skips them and the importer indexes each batch in one statement.
PostgreSQL computes its search column itself: nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INSERT = """CREATE TRIGGER product_fts_insert AFTER INSERT ON product {when}BEGIN
        INSERT INTO product_fts(rowid, name, sku, description)
        VALUES (new.rowid, new.name, new.sku, new.description);
    END"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER product_fts_insert")
        op.execute(_INSERT.format(when="WHEN new.import_job_id IS NULL "))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER product_fts_insert")
        op.execute(_INSERT.format(when=""))
