"""PostgreSQL: two batches in flight, on two connections.

An import is bound by the database backend (index, full-text and WAL work, about
45 µs a row on one core); two batches written at once keep two backends busy, one
per core. What one-batch-at-a-time guaranteed still holds:

- **Batches commit in file order**, each with its checkpoint. Batch k holds a
  transaction-level advisory lock on its own key from its start; before it
  writes its checkpoint, batch k+1 waits for that lock (so for k's transaction
  to end), then for k's outcome, and rolls back unless k committed. The
  checkpoint never moves past a batch that did not commit.
- **No hidden waits.** Every wait of a batch that holds locks is one PostgreSQL
  sees (that advisory lock, row and index locks), so a cycle through a third
  transaction (a concurrent import of the same SKUs) is broken by its deadlock
  detector, never hung on. A batch waits in Python only while it holds nothing
  (before it begins) or for a batch whose transaction has already ended.
- **Duplicates within the file** are found as before: a batch that shares a SKU,
  or a new product's slug, with the batch in flight begins only after that one
  committed, so it sees it exactly as if run in sequence.
- **Failures**: any error rolls back both in-flight batches; if it was a
  transient conflict they are run again one at a time, with the usual retries.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import text

from backroom.imports.commit import (
    Item,
    Sessions,
    Tally,
    close_batch,
    commit_batch,
    open_batch,
    transient,
)
from backroom.imports.writer import apply_batch
from backroom.jobs import service as jobs

DEPTH = 2  # batches in flight: one database backend per core here
Next = Callable[[], Awaitable[Item | None]]
After = Callable[[Tally], Awaitable[None]]

_HOLD = text("SELECT pg_advisory_xact_lock(:space, :key)")
_AWAIT = text("SELECT pg_advisory_xact_lock_shared(:space, :key)")


class _Abandoned(Exception):
    """The batch before this one did not commit: this one must not either."""


@dataclass(eq=False)
class _Slot:
    item: Item
    key: int
    skus: set[str]
    slugs: set[str]
    started: asyncio.Event = field(default_factory=asyncio.Event)
    # The errors the job keeps once this batch committed and was followed up,
    # or None if it did not commit.
    settled: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    task: asyncio.Task[tuple[Tally, int]] | None = None

    def overlaps(self, other: _Slot) -> bool:
        return not (self.skus.isdisjoint(other.skus) and self.slugs.isdisjoint(other.slugs))


class Pipeline:
    """Writes the batches ``next_item`` yields, ``DEPTH`` at a time; ``after`` runs
    once each batch committed, in file order, before the next one commits."""

    def __init__(self, sessions: Sessions, lease: jobs.Lease, kept: int, after: After) -> None:
        self.sessions, self.lease, self.kept, self.after = sessions, lease, kept, after
        # Advisory lock keys: this job's space, a serial number per batch.
        self.space = int.from_bytes(lease.job_id.bytes[:4], "big", signed=True)
        self.serial = 0
        self.window: deque[_Slot] = deque()

    async def run(self, next_item: Next) -> None:
        try:
            while True:
                try:
                    item = await next_item()
                except Exception:
                    await self._drain()  # as in sequence: what was read before commits
                    raise
                if item is None:
                    break
                await self._launch(self._slot(item))
            await self._drain()
        except BaseException as exc:
            await self._abandon(cancel=isinstance(exc, asyncio.CancelledError))
            raise

    def _slot(self, item: Item) -> _Slot:
        self.serial += 1
        slugs = {row.slug for row in item.ready if row.product is not None}
        return _Slot(item, self.serial, {row.sku for row in item.ready}, slugs)

    async def _launch(self, slot: _Slot) -> None:
        if any(slot.overlaps(other) for other in self.window):
            await self._drain()
        while len(self.window) >= DEPTH:
            await self._settle()
        before = self.window[-1] if self.window else None
        slot.task = asyncio.create_task(self._write(slot, before))
        self.window.append(slot)
        # The next batch may begin once this one holds its key (or ended).
        started = asyncio.ensure_future(slot.started.wait())
        await asyncio.wait({started, slot.task}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()

    async def _write(self, slot: _Slot, before: _Slot | None) -> tuple[Tally, int]:
        async with self.sessions() as session:
            await open_batch(session)
            await session.execute(_HOLD, {"space": self.space, "key": slot.key})
            slot.started.set()
            plan = await apply_batch(session, slot.item.scope, slot.item.ready)
            kept = self.kept
            if before is not None:
                await session.execute(_AWAIT, {"space": self.space, "key": before.key})
                # Its transaction has ended: this is a wait for its outcome only.
                settled = await before.settled
                if settled is None:
                    raise _Abandoned
                kept = settled
            tally = Tally().add(slot.item, plan)
            return tally, await close_batch(session, self.lease, tally, kept)

    async def _drain(self) -> None:
        while self.window:
            await self._settle()

    async def _settle(self) -> None:
        """Wait for the oldest batch in flight, then follow it up."""
        slot = self.window[0]
        assert slot.task is not None
        try:
            tally, kept = await slot.task
        except Exception as exc:
            slot.settled.set_result(None)
            await self._redo(exc)
            return
        self.window.popleft()
        try:
            await self.after(tally)
        except BaseException:
            slot.settled.set_result(None)
            raise
        self.kept = kept
        slot.settled.set_result(kept)

    async def _redo(self, first: Exception) -> None:
        """The oldest batch failed: wait for the others in flight to roll back,
        then, if every failure was a transient conflict, run them all again one
        at a time."""
        failed = list(self.window)
        self.window.clear()
        errors = [first]
        for slot in failed[1:]:
            assert slot.task is not None
            try:
                await slot.task
            except Exception as exc:
                errors.append(exc)
            if not slot.settled.done():
                slot.settled.set_result(None)
        for error in errors:
            if not isinstance(error, _Abandoned) and not transient(error):
                raise error
        for slot in failed:
            tally, self.kept = await commit_batch(self.sessions, self.lease, slot.item, self.kept)
            await self.after(tally)

    async def _abandon(self, *, cancel: bool) -> None:
        """On the way out: nothing still in flight commits. After an error the
        batches in flight roll back by themselves (their predecessor did not
        settle); a cancellation (shutdown) cancels them."""
        for slot in self.window:
            if not slot.settled.done():
                slot.settled.set_result(None)
        tasks = [slot.task for slot in self.window if slot.task is not None]
        for task in tasks:
            if cancel:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.window.clear()
