"""catalog and inventory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:42:21.342513
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Full-text search uses each database's own machinery: an FTS5 index kept in step
# by triggers on SQLite (external content over product.rowid; after a VACUUM run
# "INSERT INTO product_fts(product_fts) VALUES ('rebuild')"), a generated
# tsvector column with a GIN index on PostgreSQL.
_SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE product_fts USING fts5(
        name, sku, description, content='product', content_rowid='rowid',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER product_fts_insert AFTER INSERT ON product BEGIN
        INSERT INTO product_fts(rowid, name, sku, description)
        VALUES (new.rowid, new.name, new.sku, new.description);
    END""",
    """CREATE TRIGGER product_fts_delete AFTER DELETE ON product BEGIN
        INSERT INTO product_fts(product_fts, rowid, name, sku, description)
        VALUES ('delete', old.rowid, old.name, old.sku, old.description);
    END""",
    """CREATE TRIGGER product_fts_update AFTER UPDATE OF name, sku, description ON product BEGIN
        INSERT INTO product_fts(product_fts, rowid, name, sku, description)
        VALUES ('delete', old.rowid, old.name, old.sku, old.description);
        INSERT INTO product_fts(rowid, name, sku, description)
        VALUES (new.rowid, new.name, new.sku, new.description);
    END""",
]
_POSTGRES_SEARCH = [
    # ASCII punctuation becomes a space first, so "ZX-9000" is the words zx and 9000
    # (PostgreSQL's parser would read "-9000" as a signed number), as in FTS5.
    r"""ALTER TABLE product ADD COLUMN search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', regexp_replace(
            name || ' ' || sku || ' ' || description, '[!-/:-@\[-`{-~]+', ' ', 'g'))) STORED""",
    "CREATE INDEX ix_product_search ON product USING gin (search)",
]


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["category.id"],
            name=op.f("fk_category_parent_id_category"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category")),
        sa.UniqueConstraint("slug", name=op.f("uq_category_slug")),
    )
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_category_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("price_cents", sa.BigInteger(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "price_cents >= 0 AND price_cents <= 1000000000", name=op.f("ck_product_price")
        ),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_product_stock")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["category.id"],
            name=op.f("fk_product_category_id_category"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
    )
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.create_index(
            "ix_product_category", ["category_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_product_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_product_name", ["name", "id"], unique=False)
        batch_op.create_index("ix_product_price", ["price_cents", "id"], unique=False)
        batch_op.create_index(
            "uq_product_sku_live",
            ["sku"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "uq_product_slug_live",
            ["slug"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "product_slug_redirect",
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_product_slug_redirect_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_product_slug_redirect")),
    )
    with op.batch_alter_table("product_slug_redirect", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_slug_redirect_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "stock_movement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("stock_after", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_stock_movement_delta")),
        sa.CheckConstraint("stock_after >= 0", name=op.f("ck_stock_movement_stock_after")),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_stock_movement_product_id_product"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movement")),
    )
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_movement_product", ["product_id", "created_at", "id"], unique=False
        )

    statements = _SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else _POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE product_fts")
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movement_product")

    op.drop_table("stock_movement")
    with op.batch_alter_table("product_slug_redirect", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_slug_redirect_product_id"))

    op.drop_table("product_slug_redirect")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_product_slug_live",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "uq_product_sku_live",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_product_price")
        batch_op.drop_index("ix_product_name")
        batch_op.drop_index("ix_product_created")
        batch_op.drop_index("ix_product_category")

    op.drop_table("product")
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_category_parent_id"))

    op.drop_table("category")
