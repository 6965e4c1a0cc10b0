"""Job rows: create, claim under a lease, fence every write on it, finish, read.

The row is the truth; the queue is only a doorbell. A runner claims a job with
a conditional UPDATE (queued, or running with an expired lease) that sets a
fresh ``lease_token``, and every write it makes afterwards names that token: a
runner that lost its lease (stalled past the lease, or presumed dead and
replaced) can't commit anything more, so no batch is ever applied twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.db import begin_write, utcnow
from backroom.errors import NotFound
from backroom.events import outbox
from backroom.events.types import EventType
from backroom.jobs.models import Job, JobError, JobStatus

LEASE = timedelta(seconds=30)  # the default; BACKROOM_JOB_LEASE_SECONDS
MAX_ATTEMPTS = 5
MAX_ERRORS_KEPT = 1_000


class LeaseLost(RuntimeError):
    """Another runner owns the job now (or it was cancelled): stop, commit nothing."""


@dataclass(frozen=True, slots=True)
class Lease:
    job_id: uuid.UUID
    token: uuid.UUID
    kind: str
    params: dict[str, Any]
    checkpoint: dict[str, Any] | None
    attempt: int
    duration: timedelta = LEASE


def new_job(*, kind: str, params: dict[str, Any], created_by: uuid.UUID | None) -> Job:
    """A queued job; the caller adds it to its transaction and enqueues after commit."""
    now = utcnow()
    return Job(
        id=uuid.uuid4(), kind=kind, status=JobStatus.QUEUED.value, params=params,
        rows_processed=0, rows_created=0, rows_updated=0, rows_failed=0, attempts=0,
        created_by=created_by, created_at=now, updated_at=now, kicked_at=now,
    )  # fmt: skip


async def claim(
    session: AsyncSession, job_id: uuid.UUID, duration: timedelta = LEASE
) -> Lease | None:
    """Take the job if nobody holds it. Commits. None: done, running elsewhere, or missing."""
    await begin_write(session)
    now = utcnow()
    token = uuid.uuid4()
    claimable = or_(
        Job.status == JobStatus.QUEUED.value,
        and_(Job.status == JobStatus.RUNNING.value, Job.lease_until < now),
    )
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(
            status=JobStatus.RUNNING.value,
            lease_token=token,
            lease_until=now + duration,
            attempts=Job.attempts + 1,
            updated_at=now,
        )
        .returning(Job.kind, Job.params, Job.checkpoint, Job.attempts, Job.started_at)
        .execution_options(synchronize_session=False)
    )
    row = result.one_or_none()
    if row is None:
        await session.rollback()
        return None
    lease = Lease(
        job_id, token, row.kind, dict(row.params or {}), row.checkpoint, row.attempts, duration
    )
    if row.started_at is None:
        await session.execute(update(Job).where(Job.id == job_id).values(started_at=now))
    if row.attempts > MAX_ATTEMPTS:
        await _close(session, lease, JobStatus.FAILED, f"gave up after {MAX_ATTEMPTS} attempts")
        await session.commit()
        return None
    await session.commit()
    return lease


async def fence(session: AsyncSession, lease: Lease, **values: Any) -> None:
    """Write job fields (and extend the lease) inside the caller's transaction,
    only while the lease is still ours; otherwise raise ``LeaseLost``."""
    now = utcnow()
    result = await session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_token == lease.token)
        .values(lease_until=now + lease.duration, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise LeaseLost(str(lease.job_id))


async def heartbeat(session: AsyncSession, lease: Lease) -> None:
    """Keep the lease while one long step runs. Commits; raises ``LeaseLost``."""
    await begin_write(session)
    try:
        await fence(session, lease)
    finally:
        await session.commit()


async def finish(
    session: AsyncSession, lease: Lease, status: JobStatus, error: str | None = None, **values: Any
) -> None:
    """Close the job (succeeded or failed) if the lease is still ours. Commits."""
    await begin_write(session)
    await _close(session, lease, status, error, **values)
    await session.commit()


async def _close(
    session: AsyncSession, lease: Lease, status: JobStatus, error: str | None, **values: Any
) -> None:
    now = utcnow()
    await fence(session, lease, **values)
    await session.execute(
        update(Job)
        .where(Job.id == lease.job_id)
        .values(
            status=status.value, error=error, finished_at=now, lease_token=None, lease_until=None
        )
    )
    await _announce_finished(session, lease.job_id)


async def release(session: AsyncSession, lease: Lease) -> None:
    """Give the job back to the queue at once (graceful shutdown). Commits."""
    await begin_write(session)
    await session.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_token == lease.token)
        .values(
            status=JobStatus.QUEUED.value,
            lease_token=None,
            lease_until=None,
            kicked_at=None,
            updated_at=utcnow(),
        )
    )
    await session.commit()


async def cancel(session: AsyncSession, job_id: uuid.UUID, kind: str) -> Job:
    """Stop a queued or running job: it fails with reason "cancelled"; a runner
    in the middle of a batch loses its lease, so that batch rolls back. Commits."""
    await begin_write(session)
    now = utcnow()
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.kind == kind,
               Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value]))
        .values(status=JobStatus.FAILED.value, error="cancelled", finished_at=now,
                lease_token=None, lease_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if getattr(result, "rowcount", 0):
        await _announce_finished(session, job_id)
    await session.commit()
    return await get(session, job_id, kind)


async def _announce_finished(session: AsyncSession, job_id: uuid.UUID) -> None:
    """Record ``import.finished`` for an import that just ended (in the caller's transaction)."""
    from backroom.imports.runner import KIND as IMPORT
    from backroom.imports.service import represent

    job = await session.get(Job, job_id, populate_existing=True)
    if job is not None and job.kind == IMPORT:
        data = represent(job, []).model_dump(exclude={"errors"})
        outbox.record(session, EventType.IMPORT_FINISHED, data)


async def add_errors(
    session: AsyncSession,
    lease: Lease,
    kept_so_far: int,
    errors: Sequence[tuple[int, str | None, str]],
) -> int:
    """Store row errors up to the first ``MAX_ERRORS_KEPT``; returns how many are kept now."""
    room = max(0, MAX_ERRORS_KEPT - kept_so_far)
    rows = [
        JobError(job_id=lease.job_id, row=row, field=field, message=message[:500])
        for row, field, message in errors[:room]
    ]
    session.add_all(rows)
    return kept_so_far + len(rows)


async def get(session: AsyncSession, job_id: uuid.UUID, kind: str) -> Job:
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or job.kind != kind:
        raise NotFound("No such job.")
    return job


async def errors_of(session: AsyncSession, job_id: uuid.UUID) -> list[JobError]:
    rows = await session.scalars(
        select(JobError)
        .where(JobError.job_id == job_id)
        .order_by(JobError.row, JobError.id)
        .limit(MAX_ERRORS_KEPT)
    )
    return list(rows)


async def queued_count(session: AsyncSession) -> int:
    stmt = select(func.count()).select_from(Job).where(Job.status == JobStatus.QUEUED.value)
    return int(await session.scalar(stmt) or 0)


async def due_for_kick(
    session: AsyncSession, now: datetime, lease: timedelta = LEASE, limit: int = 100
) -> list[uuid.UUID]:
    """Jobs whose message may be lost or whose runner died: mark them enqueued now. Commits.

    A queued job not started two leases after it was last enqueued is enqueued
    again (its message may have been lost with a Redis restart, or never sent);
    a running job whose lease ran out is enqueued for someone to take over."""
    stalled = or_(
        and_(Job.status == JobStatus.QUEUED.value,
             or_(Job.kicked_at.is_(None), Job.kicked_at < now - 2 * lease)),
        and_(Job.status == JobStatus.RUNNING.value, Job.lease_until < now,
             or_(Job.kicked_at.is_(None), Job.kicked_at < now - lease)),
    )  # fmt: skip
    # Read first: an idle sweep (the usual case) takes no write lock, which on
    # SQLite would briefly block every other writer every few seconds.
    ids = list(await session.scalars(select(Job.id).where(stalled).limit(limit)))
    await session.rollback()
    if not ids:
        return []
    await begin_write(session)
    marked = await session.scalars(  # only what no other sweeper marked meanwhile
        update(Job).where(Job.id.in_(ids), stalled).values(kicked_at=now).returning(Job.id)
    )
    ids = list(marked)
    await session.commit()
    return ids
