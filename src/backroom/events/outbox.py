"""The outbox: events are written by the transaction that makes the change, and
become visible to readers strictly in id order.

Use cases call ``record(session, type, data)`` anywhere inside their transaction;
nothing is written then. Just before the session commits, a ``before_commit``
hook flushes every other pending change, takes the outbox lock, inserts the
events (their ids come from the table's sequence) and lets the commit proceed.
So an event exists exactly when its change committed: a rollback (a checkout
that fails with 409, a savepoint rolled back) discards it, and a process that
dies after the commit has already made it durable.

**Why a lock.** On PostgreSQL a sequence value is handed out at insert, not at
commit: writer A could take id 10, writer B id 11, and B commit first. A reader
asking for "id > 9" would then see 11, remember it, and never see 10. The hook
therefore takes a transaction-scoped advisory lock (``pg_advisory_xact_lock``)
before inserting; it is released only when the transaction ends, after its
commit is visible. Ids are thus handed out in commit order, and the invariant
readers rely on holds: *once id N is visible, every id below N is visible or
was rolled back for good*. The lock is held only for the insert and the commit
(other changes are flushed before it is taken), so it serialises commits of
event-writing transactions, nothing more. SQLite already has one writer at a
time (the write lock is held from the first write to the commit), so ids are
in commit order there without an extra lock. ``tests/events/test_ordering.py``
races writers against a reader to prove it.

Readers page with ``read_after(last_seen_id)``; ``Notifier`` wakes readers in
the same process as soon as something committed (the log stays the truth).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, event, func, insert, select, text
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
    merged notification loses nothing."""

    def __init__(self) -> None:
        self.last_id = 0
        self._changed = asyncio.Event()
        self._listeners: list[Callable[[int], None]] = []

    def committed(self, last_id: int) -> None:
        self.last_id = max(self.last_id, last_id)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            listener(self.last_id)

    async def wait(self) -> None:
        """Return when events next commit in this process (bound it with a timeout:
        commits in other processes don't wake it)."""
        await self._changed.wait()

    def subscribe(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Call ``listener(last_id)`` after each commit that wrote events; returns an
        unsubscribe function. Listeners run inside the commit: keep them quick."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint being released; the events wait for the real commit
    pending: list[_Pending] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Everything else first, so that once the lock is held this transaction waits
    # on nobody: no deadlock with a writer queued for the lock, and a short hold.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    last = 0
    for item in pending:  # one by one: ids follow the order of recording
        last = session.execute(
            insert(Event)
            .values(type=item.type, data=item.data, created_at=item.created_at)
            .returning(Event.id)
        ).scalar_one()
    session.info[_WRITTEN] = last


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    last = session.info.pop(_WRITTEN, None)
    notifier = session.info.get(NOTIFIER)
    if last is not None and isinstance(notifier, Notifier):
        notifier.committed(last)


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
