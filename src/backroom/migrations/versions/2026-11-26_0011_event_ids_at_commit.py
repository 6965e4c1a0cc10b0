"""event ids at commit

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 23:45:00.000000

PostgreSQL only. An event row is inserted with a negative placeholder id (the
column's new default); a deferred constraint trigger gives it its real id from
``event_id_seq`` inside COMMIT, under the outbox's advisory lock, which the
transaction then holds only until its commit is visible. Ids stay in commit
order (see docs/events.md) while the rest of the transaction runs in parallel.
SQLite needs none of it: it has one writer at a time.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The advisory lock key below is b"backroom" as a big-endian bigint,
# backroom.events.outbox.LOCK_KEY (a test checks the two agree). It is written
# out in the SQL, not formatted in: migrations build no SQL from strings.
LOCK_KEY = 7089056601590427501


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE event_placeholder_id_seq AS bigint OWNED BY event.id")
    op.execute("ALTER TABLE event ALTER COLUMN id SET DEFAULT -nextval('event_placeholder_id_seq')")
    op.execute("""
        CREATE FUNCTION event_assign_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Held until this transaction's commit is visible: the next writer's
            -- ids are drawn only after that, so ids become visible in order.
            PERFORM pg_advisory_xact_lock(7089056601590427501);
            UPDATE event SET id = nextval('event_id_seq') WHERE id = NEW.id;
            RETURN NULL;
        END
        $$
    """)  # fmt: skip
    # Deferred triggers fire at COMMIT in the order their rows were inserted, so
    # the ids of one transaction follow the order its events were recorded in.
    # Rows inserted with a real (positive) id are left alone.
    op.execute("""
        CREATE CONSTRAINT TRIGGER event_assign_id AFTER INSERT ON event
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.id < 0)
        EXECUTE FUNCTION event_assign_id()
    """)  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER event_assign_id ON event")
    op.execute("DROP FUNCTION event_assign_id()")
    op.execute("ALTER TABLE event ALTER COLUMN id SET DEFAULT nextval('event_id_seq')")
    op.execute("DROP SEQUENCE event_placeholder_id_seq")
