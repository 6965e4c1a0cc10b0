"""The product import job: read the file batch by batch, write each batch in one
transaction together with the job's counters and checkpoint.

A batch and the checkpoint after it commit together, so a runner that dies (or
is cancelled) at any moment leaves the catalog at a batch boundary, and the
next runner resumes from the last checkpoint: nothing is applied twice, and
the ledger still balances. Transient conflicts between concurrent imports
(a deadlock, or a new SKU inserted by someone else meanwhile) roll the batch
back and run it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.cache import tombstone
from backroom.catalog.models import Category
from backroom.db import begin_write, utcnow
from backroom.imports.prepare import Ready, Scope, prepare
from backroom.imports.reader import BadFile, Batch, open_reader
from backroom.imports.writer import Plan, apply_batch
from backroom.jobs import service as jobs
from backroom.jobs.models import Job, JobStatus
from backroom.jobs.runtime import JobRuntime

log = logging.getLogger("backroom.imports")

KIND = "import.products"
RETRIES = 5
Progress = Callable[[Job], None]
Sessions = Callable[[], AsyncSession]
# SQLite: the importing connection's page cache, in KiB (the default is 2 MB).
SQLITE_CACHE_KIB = 65_536


async def run_import(
    runtime: JobRuntime, lease: jobs.Lease, progress: Progress | None = None
) -> None:
    """Run (or resume) an import job under ``lease``; finishes the job."""
    path = Path(lease.params["path"])
    checkpoint = lease.checkpoint or {}
    try:
        file: BinaryIO = await asyncio.to_thread(path.open, "rb")
    except OSError:
        await _fail(runtime, lease, "the uploaded file is no longer available")
        return
    with file:
        try:
            reader = await asyncio.to_thread(
                open_reader, file, lease.params.get("format", "csv"),
                checkpoint.get("offset"), checkpoint.get("row"),
            )  # fmt: skip
        except BadFile as exc:
            await _fail(runtime, lease, str(exc))
            return
        await _batches(runtime, lease, reader, int(checkpoint.get("errors_kept", 0)), progress)
    async with runtime.sessionmaker() as session:
        await jobs.finish(session, lease, JobStatus.SUCCEEDED, checkpoint=None)
    _discard(lease)


async def _batches(
    runtime: JobRuntime, lease: jobs.Lease, reader: Any, kept: int, progress: Progress | None
) -> None:
    categories = await _categories(runtime)
    size = runtime.settings.import_batch_rows
    stats = _Statistics()
    actor = lease.params.get("actor_id")

    def read_and_prepare() -> tuple[Batch, Scope, list[Ready]] | None:
        batch = reader.next_batch(size)
        if batch is None:
            return None
        scope = Scope(lease.job_id, uuid.UUID(actor) if actor else None, categories, utcnow(),
                      runtime.settings.is_sqlite)  # fmt: skip
        return batch, scope, prepare(batch, scope)

    upcoming = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))
    async with _batch_sessions(runtime) as sessions:
        while (item := await upcoming) is not None:
            # Read and prepare the next batch in a thread while this one is written.
            upcoming = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))
            plan, kept = await _commit_batch(sessions, lease, *item, kept)
            await _after_commit(runtime, lease, stats, plan, progress)


async def _after_commit(
    runtime: JobRuntime, lease: jobs.Lease, stats: _Statistics, plan: Plan,
    progress: Progress | None,
) -> None:  # fmt: skip
    await stats.grew(runtime, len(plan.inserts))
    await runtime.product_cache.offer_many(
        {pid: tombstone(version) for pid, version in plan.tombstones.items()}
    )
    if progress is not None:
        async with runtime.sessionmaker() as session:
            progress(await jobs.get(session, lease.job_id, KIND))


@contextlib.asynccontextmanager
async def _batch_sessions(runtime: JobRuntime) -> AsyncIterator[Sessions]:
    """Where the batches' transactions run. PostgreSQL: pooled sessions. SQLite:
    one connection for the whole import, with a 64 MB page cache (+16-25 % rows/s
    at 100,000 rows: the indexes' pages stay cached from batch to batch). Sessions
    from the pool would land on different connections, each keeping its own
    cache (the process grew by 194-328 MB), so this one is closed, not pooled
    again, when the import ends: its cache is freed with it."""
    if not runtime.settings.is_sqlite:
        yield runtime.sessionmaker
        return
    async with runtime.engine.connect() as connection:
        try:
            await connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
            await connection.commit()
            yield lambda: AsyncSession(bind=connection, expire_on_commit=False, autoflush=False)
        finally:
            await connection.invalidate()


async def _commit_batch(
    sessions: Sessions, lease: jobs.Lease, batch: Batch, scope: Scope, ready: list[Ready],
    kept: int,
) -> tuple[Plan, int]:  # fmt: skip
    for attempt in range(1, RETRIES + 1):
        async with sessions() as session:
            try:
                return await _write(session, lease, batch, scope, ready, kept)
            except (DBAPIError, asyncpg.PostgresError) as exc:
                if attempt == RETRIES or not _transient(exc):
                    raise
                log.info("import %s: batch conflicted (%s); retrying", lease.job_id, exc)
                await session.rollback()
                await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


async def _write(
    session: AsyncSession, lease: jobs.Lease, batch: Batch, scope: Scope, ready: list[Ready],
    kept: int,
) -> tuple[Plan, int]:  # fmt: skip
    await begin_write(session)
    await _tune(session)
    plan = await apply_batch(session, scope, ready)
    errors = sorted(batch.errors + plan.errors, key=lambda e: e.row)
    kept = await jobs.add_errors(
        session, lease, kept, [(e.row, e.field, e.message) for e in errors]
    )
    await jobs.fence(
        session, lease,
        rows_processed=Job.rows_processed + batch.records,
        rows_created=Job.rows_created + len(plan.inserts),
        rows_updated=Job.rows_updated + len(plan.updates),
        rows_failed=Job.rows_failed + len(errors),
        checkpoint={"offset": batch.end_offset, "row": batch.end_row, "errors_kept": kept},
    )  # fmt: skip
    await session.commit()
    return plan, kept


class _Statistics:
    """Keep PostgreSQL's planner statistics in step while an import grows the table.

    Without this, a table that went from empty to 100,000 rows inside one import
    is still planned as tiny, and the per-batch lookups by SKU and slug turn into
    scans that get slower with every batch (measured: 690 rows/s instead of
    thousands). Re-analysing whenever the import doubled what it had added
    before (20 times for a million rows) costs about a second in all."""

    def __init__(self) -> None:
        self.known = 0
        self.added = 0

    async def grew(self, runtime: JobRuntime, rows: int) -> None:
        self.added += rows
        if runtime.settings.is_sqlite or self.added < max(10_000, self.known):
            return
        async with runtime.engine.connect() as connection:
            await connection.execute(text("ANALYZE product"))
            await connection.commit()
        self.known += self.added
        self.added = 0


async def _tune(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Safe to lose on a crash: the checkpoint commits with the batch, so a lost
        # batch is simply read again. Saves a WAL flush per batch.
        await session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _transient(exc: Exception) -> bool:
    """Deadlock, serialization failure, or a unique key taken by a concurrent writer.
    (Errors come wrapped by SQLAlchemy, or straight from asyncpg for ``COPY``.)"""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is None and orig is not None:
        code = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return code in {"40P01", "40001", "23505"}


async def _categories(runtime: JobRuntime) -> dict[str, uuid.UUID]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(select(Category.slug, Category.id))
        return {row.slug: row.id for row in rows}


async def _fail(runtime: JobRuntime, lease: jobs.Lease, reason: str) -> None:
    async with runtime.sessionmaker() as session:
        await jobs.finish(session, lease, JobStatus.FAILED, reason)
    _discard(lease)


def _discard(lease: jobs.Lease) -> None:
    """Delete an uploaded file once its job is over (a CLI import's own file is kept)."""
    if lease.params.get("owned"):
        with contextlib.suppress(OSError):
            Path(lease.params["path"]).unlink()
