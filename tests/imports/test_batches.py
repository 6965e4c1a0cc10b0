"""How an import's batches are written: duplicates across batches, the order in
which batches commit when two are in flight (PostgreSQL), what a failed batch
does to the one after it, and the importing connection on SQLite."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.models import Product
from backroom.config import Settings
from backroom.imports import commit, pipeline, runner
from backroom.imports.prepare import Ready, Scope
from backroom.imports.runner import KIND, run_import
from backroom.imports.writer import Plan, apply_batch
from backroom.jobs import service as jobs
from backroom.jobs.models import Job
from backroom.main import create_app
from tests.imports.helpers import HEADER


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings(import_batch_rows=3, import_sqlite_commit_rows=1)


class Boom(Exception):
    pass


async def _import(app: FastAPI, path: Path, progress: runner.Progress | None = None) -> uuid.UUID:
    """Run an import of ``path`` here, to its end or its exception."""
    runtime = app.state.ctx.jobs
    job = jobs.new_job(kind=KIND, created_by=None, params={"path": str(path), "format": "csv"})
    async with runtime.sessionmaker() as session:
        session.add(job)
        await session.commit()
        lease = await jobs.claim(session, job.id, runtime.lease)
    assert lease is not None
    await run_import(runtime, lease, progress)
    return job.id


async def _state(app: FastAPI, job_id: uuid.UUID) -> tuple[Job, set[str]]:
    async with app.state.ctx.sessionmaker() as session:
        job = await jobs.get(session, job_id, KIND)
        skus = set(await session.scalars(select(Product.sku)))
    return job, skus


def _file(tmp_path: Path, skus: list[str]) -> Path:
    path = tmp_path / "batches.csv"
    path.write_text(HEADER + "".join(f"{s},Item {n},,{100 + n},1,,true\r\n"
                                     for n, s in enumerate(skus)))  # fmt: skip
    return path


def _failing(
    monkeypatch: pytest.MonkeyPatch, sku: str, error: BaseException, times: int = 1
) -> list[str]:
    """Make the batch holding ``sku`` fail, slowly (so the batch after it gets
    ahead), ``times`` times. Returns the first SKU of every batch written."""
    left = times
    written: list[str] = []

    async def apply(session: AsyncSession, scope: Scope, rows: list[Ready]) -> Plan:
        nonlocal left
        written.append(rows[0].sku)
        plan = await apply_batch(session, scope, rows)
        if left and any(row.sku == sku for row in rows):
            left -= 1
            await asyncio.sleep(0.3)
            raise error
        return plan

    monkeypatch.setattr(commit, "apply_batch", apply)
    monkeypatch.setattr(pipeline, "apply_batch", apply)
    monkeypatch.setattr(runner, "apply_batch", apply)
    return written


async def test_duplicates_across_batches_are_reported(app: FastAPI, tmp_path: Path) -> None:
    # Batches of 3: rows 2-4, 5-7, 8-10. D-1 again in the next batch, D-2 two later.
    skus = ["D-1", "A-1", "D-2", "D-1", "A-2", "A-3", "A-4", "D-2", "A-5"]
    job_id = await _import(app, _file(tmp_path, skus))
    job, found = await _state(app, job_id)
    assert (job.status, job.rows_created, job.rows_failed) == ("succeeded", 7, 2)
    async with app.state.ctx.sessionmaker() as session:
        errors = [(e.row, e.field, e.message) for e in await jobs.errors_of(session, job_id)]
    assert errors == [
        (5, "sku", "duplicate SKU: already earlier in the file"),
        (9, "sku", "duplicate SKU: already earlier in the file"),
    ]
    assert found == set(skus)


async def test_a_failed_batch_commits_nothing_after_it(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    skus = [f"F-{n}" for n in range(1, 10)]
    written = _failing(monkeypatch, "F-4", Boom())  # the second batch
    with pytest.raises(Boom):
        await _import(app, _file(tmp_path, skus))
    async with app.state.ctx.sessionmaker() as session:
        job_id = await session.scalar(select(Job.id))
    assert job_id is not None
    job, found = await _state(app, job_id)
    # The third batch was written meanwhile, and rolled back: the checkpoint is
    # right after the first batch, and only its products exist.
    assert found == {"F-1", "F-2", "F-3"}
    assert written == ["F-1", "F-4"] + ([] if settings.is_sqlite else ["F-7"])
    assert job.rows_processed == 3 and job.checkpoint is not None
    assert job.checkpoint["row"] == 4


async def test_a_transient_conflict_writes_the_batches_again(
    app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite writers take turns (BEGIN IMMEDIATE), never deadlock")
    skus = [f"T-{n}" for n in range(1, 13)]
    written = _failing(monkeypatch, "T-4", asyncpg.exceptions.DeadlockDetectedError("deadlock"))
    job_id = await _import(app, _file(tmp_path, skus))
    job, found = await _state(app, job_id)
    assert (job.status, job.rows_processed, job.rows_created, job.rows_failed) == (
        "succeeded", 12, 12, 0,
    )  # fmt: skip
    assert found == set(skus)
    # The batch in flight behind the failed one rolled back, and both ran again.
    assert written == ["T-1", "T-4", "T-7", "T-4", "T-7", "T-10"]


async def test_sqlite_imports_on_one_connection_that_is_closed_after(
    app: FastAPI, tmp_path: Path, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    pool = app.state.ctx.jobs.engine.sync_engine.pool
    caches: list[int] = []

    @event.listens_for(pool, "invalidate")
    def invalidated(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA cache_size")
        caches.append(cursor.fetchone()[0])
        cursor.close()

    job_id = await _import(app, _file(tmp_path, [f"C-{n}" for n in range(10)]))
    assert (await _state(app, job_id))[0].status == "succeeded"
    # Invalidated (closed), its 64 MB cache with it, rather than pooled again.
    assert caches == [-runner.SQLITE_CACHE_KIB]


async def test_sqlite_commits_several_batches_at_once(make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings(import_batch_rows=3, import_sqlite_commit_rows=6)
    application = create_app(settings)
    committed: list[int] = []
    async with LifespanManager(application):
        job_id = await _import(application, _file(tmp_path, [f"G-{n}" for n in range(14)]),
                               lambda job: committed.append(job.rows_processed))  # fmt: skip
        job, found = await _state(application, job_id)
    assert (job.status, len(found)) == ("succeeded", 14)
    # SQLite: batches of 3 rows, committed 6 at a time; PostgreSQL: each on its own.
    assert committed == ([6, 12, 14] if settings.is_sqlite else [3, 6, 9, 12, 14])
