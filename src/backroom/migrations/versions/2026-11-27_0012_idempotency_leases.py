"""idempotency leases

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 10:00:00.000000

A claimed Idempotency-Key becomes a lease with a fencing token (see
backroom/idempotency/service.py). Existing rows keep ``attempt`` 1 and no
``lease_expires_at``: an in-flight one's lease is then counted from its
``created_at``, and ``attempt`` has a server default so an instance still
running the previous release can go on inserting during a rolling upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("attempt")
