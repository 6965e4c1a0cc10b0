"""The product import job: read the file batch by batch in a thread, and write
each batch in one transaction together with the job's counters and checkpoint
(``commit``). On PostgreSQL two batches are written at once (``pipeline``); on
SQLite, which has one writer, one after the other, on one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.cache import tombstone
from backroom.catalog.models import Category
from backroom.db import utcnow
from backroom.imports.commit import Item, Sessions, Tally, close_batch, open_batch
from backroom.imports.pipeline import After, Next, Pipeline
from backroom.imports.prepare import Scope, prepare
from backroom.imports.reader import BadFile, open_reader
from backroom.imports.writer import apply_batch
from backroom.jobs import service as jobs
from backroom.jobs.models import Job, JobStatus
from backroom.jobs.runtime import JobRuntime

KIND = "import.products"
Progress = Callable[[Job], None]
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

    def read_and_prepare() -> Item | None:
        batch = reader.next_batch(size)
        if batch is None:
            return None
        scope = Scope(lease.job_id, uuid.UUID(actor) if actor else None, categories, utcnow(),
                      runtime.settings.is_sqlite)  # fmt: skip
        return Item(batch, scope, prepare(batch, scope))

    # The next batch is read and prepared in a thread while batches are written.
    upcoming = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))

    async def next_item() -> Item | None:
        nonlocal upcoming
        item = await upcoming
        if item is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))
        return item

    async def after(tally: Tally) -> None:
        await stats.grew(runtime, tally.created)
        await runtime.product_cache.offer_many(
            {pid: tombstone(version) for pid, version in tally.tombstones.items()}
        )
        if progress is not None:
            async with runtime.sessionmaker() as session:
                progress(await jobs.get(session, lease.job_id, KIND))

    async with _batch_sessions(runtime) as sessions:
        if runtime.settings.is_sqlite:
            rows = runtime.settings.import_sqlite_commit_rows
            await _one_writer(sessions, lease, next_item, kept, after, rows)
        else:
            await Pipeline(sessions, lease, kept, after).run(next_item)


async def _one_writer(
    sessions: Sessions, lease: jobs.Lease, next_item: Next, kept: int, after: After, rows: int
) -> None:
    """SQLite (one writer, by design): batches one after the other, consecutive
    ones sharing a transaction up to ``rows`` rows. A commit writes every page
    the transaction dirtied, and a batch's new rows land on pages all over the
    random-keyed indexes (slug, name, price): at a million rows, 5,000 rows a
    commit spent 40 s in COMMIT, 20,000 rows 18.5 s; the whole import took 99 s,
    89 s with 20,000 and 75 s with 50,000 rows a commit (71 s with 100,000). Batches
    stay small, so Python holds one batch at a time, not 50,000 rows. The cost:
    other writers wait for the write lock up to one transaction (~4 s)."""
    item = await next_item()
    while item is not None:
        tally = Tally()
        async with sessions() as session:
            await open_batch(session)
            while item is not None and tally.records < rows:
                tally.add(item, await apply_batch(session, item.scope, item.ready))
                item = await next_item()
            kept = await close_batch(session, lease, tally, kept)
        await after(tally)


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
