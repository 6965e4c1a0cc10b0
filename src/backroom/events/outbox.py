"""The outbox: events are written by the transaction that makes the change, and
become visible to readers strictly in id order.

Use cases call ``record(session, type, data)`` anywhere inside their transaction;
nothing is written then. Just before the session commits, a ``before_commit``
hook inserts the waiting events in one statement and lets the commit proceed.
So an event exists exactly when its change committed: a rollback (a checkout
that fails with 409, a savepoint rolled back) discards it, and a process that
dies after the commit has already made it durable.

**Why ids are given at commit.** On PostgreSQL a sequence value is handed out
when it is asked for, not at commit: writer A could take id 10, writer B id 11,
and B commit first. A reader asking for "id > 9" would then see 11, remember
it, and never see 10. So the row is inserted with a negative placeholder id
(the column's default, migration 0011), and a deferred constraint trigger gives
it its real id *inside* ``COMMIT``, after taking a transaction-scoped advisory
lock (``LOCK_KEY``) that is released only once the commit is visible. Ids are
thus handed out in commit order, and the invariant readers rely on holds: *once
id N is visible, every id below N is visible or was rolled back for good*. The
lock serialises only the commits themselves, not the transactions' work nor
their round trips; a lock holder has no statement left to wait on, so it can't
deadlock. The writer no longer learns its ids (they don't exist until the
commit); nothing needs them. SQLite already has one writer at a time (the write
lock is held from the first write to the commit), so ids taken at insert are
in commit order there. ``tests/events/test_ordering.py`` races writers against
readers, stalling a writer inside its ``COMMIT``, to prove it.

Readers page with ``read_after(last_seen_id)``; ``Notifier`` wakes readers in
the same process as soon as something committed (the log stays the truth).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, delete, event, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from backroom.db import begin_write, utcnow
from backroom.events.models import Event
from backroom.events.types import EventType

# pg_advisory_xact_lock key of the outbox: b"backroom" as a big-endian bigint.
LOCK_KEY = int.from_bytes(b"backroom", "big")
# Session.info keys: the sessionmaker passes the notifier to every session.
NOTIFIER = "backroom.outbox.notifier"
_PENDING = "backroom.outbox.pending"
_WRITTEN = "backroom.outbox.written"
_OPTIONS = orjson.OPT_UTC_Z
# Core, not ORM: the ORM's bulk insert path would add work and nothing we use.
_INSERT = insert(cast(Table, Event.__table__))


@dataclass(frozen=True, slots=True)
class _Pending:
    type: str
    data: dict[str, Any]
    created_at: datetime
    # The innermost transaction open when recorded: a savepoint rollback drops it.
    transaction: SessionTransaction | None


def jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as JSON values: UUIDs and times become strings (RFC 3339, UTC ``Z``)."""
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(data, option=_OPTIONS, default=str))
    return loaded


def record(session: AsyncSession, type_: EventType, data: Mapping[str, Any]) -> None:
    """Record an event in the session's current transaction. It is written just
    before that transaction commits, and never if it (or the savepoint) rolls back."""
    sync = session.sync_session
    transaction = sync.get_nested_transaction() or sync.get_transaction()
    pending = sync.info.setdefault(_PENDING, [])
    pending.append(_Pending(type_.value, jsonable(data), utcnow(), transaction))


def body(event_: Event) -> bytes:
    """What every consumer gets (webhook body, SSE ``data:``): ``{id, type, timestamp, data}``."""
    return orjson.dumps(
        {
            "id": str(event_.id),
            "type": event_.type,
            "timestamp": event_.created_at,
            "data": event_.data,
        },
        option=_OPTIONS,
    )


async def read_after(
    session: AsyncSession, after: int, *, limit: int = 100, types: Collection[str] | None = None
) -> list[Event]:
    """Committed events with ``id > after``, oldest first (at most ``limit``).

    Safe to resume from the last id returned: no event with a smaller id can
    commit later (see the module docstring). Ids may have gaps."""
    stmt = select(Event).where(Event.id > after)
    if types:
        stmt = stmt.where(Event.type.in_(list(types)))
    rows = await session.scalars(stmt.order_by(Event.id).limit(limit))
    return list(rows)


async def last_id(session: AsyncSession) -> int:
    """The newest committed event id (0 when the log is empty)."""
    return int(await session.scalar(select(func.max(Event.id))) or 0)


async def purge(session: AsyncSession, older_than: timedelta) -> int:
    """Delete events recorded more than ``older_than`` ago. Commits; returns how many."""
    await begin_write(session)
    result = await session.execute(delete(Event).where(Event.created_at < utcnow() - older_than))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


class Notifier:
    """Tells this process's readers that events committed, so they needn't poll hard.

    A hint only: a reader still reads the log from its last id, so a missed or
    merged notification loses nothing. It carries no id: on PostgreSQL the ids
    are given inside ``COMMIT``, so the writer never learns them."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[int | None], None]] = []

    def committed(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            listener(None)

    async def wait(self) -> None:
        """Return when events next commit in this process (bound it with a timeout:
        commits in other processes don't wake it)."""
        await self._changed.wait()

    def subscribe(self, listener: Callable[[int | None], None]) -> Callable[[], None]:
        """Call ``listener(None)`` after each commit that wrote events (the argument
        is the newest id where one is known; never, today); returns an unsubscribe
        function. Listeners run inside the commit: keep them quick."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


async def write_now(session: AsyncSession) -> None:
    """Insert the events recorded so far in this transaction now, rather than at
    commit (one statement). Their ids are still given at commit, so this changes
    no ordering; it lets a use case send the insert before it takes a hot lock
    (checkout). Events recorded later are written at commit as usual. A no-op
    inside a savepoint, whose events must wait for it to be released."""
    if not session.sync_session.in_nested_transaction():
        await session.run_sync(_insert_pending)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint being released; the events wait for the real commit
    _insert_pending(session)


def _insert_pending(session: Session) -> None:
    pending: list[_Pending] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    # One executemany of one cached statement (a multi-row VALUES would be
    # compiled afresh for each row count: 8 % of a checkout's CPU). Rows keep the
    # order of recording, and so do their ids (PostgreSQL: the deferred trigger
    # renumbers them in insertion order).
    session.execute(
        _INSERT, [{"type": p.type, "data": p.data, "created_at": p.created_at} for p in pending]
    )
    session.info[_WRITTEN] = True


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    notifier = session.info.get(NOTIFIER)
    if written and isinstance(notifier, Notifier):
        notifier.committed()


@event.listens_for(Session, "after_soft_rollback")
def _discard_rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [p for p in pending if not _inside(p.transaction, previous)]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction is over, committed or not
        session.info.pop(_PENDING, None)
        session.info.pop(_WRITTEN, None)


def _inside(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    if ancestor.parent is None:
        return True  # the root rolled back: everything recorded in it goes
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
