"""One batch, one transaction: the batch's writes together with the job's
counters, errors and checkpoint, all or nothing.

A batch and the checkpoint after it commit together, so a runner that dies (or
is cancelled) at any moment leaves the catalog at a batch boundary, and the next
runner resumes from the last checkpoint: nothing is applied twice, and the
ledger still balances. Transient conflicts with a concurrent import (a
deadlock, or a new SKU inserted by someone else meanwhile) roll the batch back
and run it again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.db import begin_write
from backroom.imports.prepare import Ready, Scope
from backroom.imports.reader import Batch
from backroom.imports.rows import RowError
from backroom.imports.writer import Plan, apply_batch
from backroom.jobs import service as jobs
from backroom.jobs.models import Job

log = logging.getLogger("backroom.imports")

RETRIES = 5
Sessions = Callable[[], AsyncSession]


@dataclass(slots=True)
class Item:
    """A batch as read, with its rows prepared (see ``prepare``)."""

    batch: Batch
    scope: Scope
    ready: list[Ready]


@dataclass(slots=True)
class Tally:
    """What one transaction did, over the batches it wrote (usually one). Only
    counts and ids: the rows themselves can go once written."""

    records: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    tombstones: dict[uuid.UUID, int] = field(default_factory=dict)
    end_offset: int = 0
    end_row: int = 0

    def add(self, item: Item, plan: Plan) -> Tally:
        self.records += item.batch.records
        self.created += len(plan.inserts)
        self.updated += len(plan.updates)
        self.errors += item.batch.errors + plan.errors
        self.tombstones |= plan.tombstones
        self.end_offset, self.end_row = item.batch.end_offset, item.batch.end_row
        return self


async def commit_batch(
    sessions: Sessions, lease: jobs.Lease, item: Item, kept: int
) -> tuple[Tally, int]:
    """Write and commit one batch, retrying transient conflicts; returns what it
    did and how many row errors the job keeps now."""
    for attempt in range(1, RETRIES + 1):
        async with sessions() as session:
            try:
                await open_batch(session)
                plan = await apply_batch(session, item.scope, item.ready)
                tally = Tally().add(item, plan)
                return tally, await close_batch(session, lease, tally, kept)
            except (DBAPIError, asyncpg.PostgresError) as exc:
                if attempt == RETRIES or not transient(exc):
                    raise
                log.info("import %s: batch conflicted (%s); retrying", lease.job_id, exc)
                await session.rollback()
                await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


async def open_batch(session: AsyncSession) -> None:
    await begin_write(session)
    if session.get_bind().dialect.name == "postgresql":
        # Safe to lose on a crash: the checkpoint commits with the batch, so a lost
        # batch is simply read again. Saves a WAL flush per batch.
        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))


async def close_batch(session: AsyncSession, lease: jobs.Lease, tally: Tally, kept: int) -> int:
    """Record the batch on the job (errors, counters, checkpoint) and commit."""
    errors = sorted(tally.errors, key=lambda e: e.row)
    kept = await jobs.add_errors(
        session, lease, kept, [(e.row, e.field, e.message) for e in errors]
    )
    await jobs.fence(
        session, lease,
        rows_processed=Job.rows_processed + tally.records,
        rows_created=Job.rows_created + tally.created,
        rows_updated=Job.rows_updated + tally.updated,
        rows_failed=Job.rows_failed + len(errors),
        checkpoint={"offset": tally.end_offset, "row": tally.end_row, "errors_kept": kept},
    )  # fmt: skip
    await session.commit()
    return kept


def transient(exc: BaseException) -> bool:
    """Deadlock, serialization failure, or a unique key taken by a concurrent writer.
    (Errors come wrapped by SQLAlchemy, or straight from asyncpg for ``COPY``.)"""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None and orig is not None:
        code = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return code in {"40P01", "40001", "23505"}
