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
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.cache import tombstone
from backroom.catalog.models import Category
from backroom.db import begin_write, utcnow
from backroom.imports.reader import BadFile, Batch, open_reader
from backroom.imports.writer import Plan, Scope, apply_batch
from backroom.jobs import service as jobs
from backroom.jobs.models import Job, JobStatus
from backroom.jobs.runtime import JobRuntime

log = logging.getLogger("backroom.imports")

KIND = "import.products"
RETRIES = 5
Progress = Callable[[Job], None]


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
    scope_base = await _categories(runtime)
    size = runtime.settings.import_batch_rows
    while (batch := await asyncio.to_thread(reader.next_batch, size)) is not None:
        plan, kept = await _commit_batch(runtime, lease, batch, scope_base, kept)
        await runtime.product_cache.offer_many(
            {pid: tombstone(version) for pid, version in plan.tombstones.items()}
        )
        if progress is not None:
            async with runtime.sessionmaker() as session:
                progress(await jobs.get(session, lease.job_id, KIND))


async def _commit_batch(
    runtime: JobRuntime, lease: jobs.Lease, batch: Batch, categories: dict[str, uuid.UUID],
    kept: int,
) -> tuple[Plan, int]:  # fmt: skip
    for attempt in range(1, RETRIES + 1):
        async with runtime.sessionmaker() as session:
            try:
                return await _write(session, lease, batch, categories, kept)
            except (IntegrityError, DBAPIError) as exc:
                if attempt == RETRIES or not _transient(exc):
                    raise
                log.info("import %s: batch conflicted (%s); retrying", lease.job_id, exc.orig)
                await session.rollback()
                await asyncio.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


async def _write(
    session: AsyncSession, lease: jobs.Lease, batch: Batch, categories: dict[str, uuid.UUID],
    kept: int,
) -> tuple[Plan, int]:  # fmt: skip
    await begin_write(session)
    actor = lease.params.get("actor_id")
    scope = Scope(lease.job_id, uuid.UUID(actor) if actor else None, categories, utcnow())
    plan = await apply_batch(session, scope, batch.rows)
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


def _transient(exc: DBAPIError) -> bool:
    """Deadlock, serialization failure, or a unique key taken by a concurrent writer."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code is None and exc.orig is not None:
        code = getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)
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
