"""The job machinery under an import: resume after a crash, leases that fence a
stale runner, cancellation, concurrent imports, the sweep, and the CLI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select, update

from backroom.catalog.models import Product
from backroom.config import Settings
from backroom.db import utcnow
from backroom.imports.runner import KIND, run_import
from backroom.inventory.models import StockMovement
from backroom.jobs import service as jobs
from backroom.jobs.models import Job
from tests.catalog.helpers import create_product
from tests.factories import Actors
from tests.imports.helpers import HEADER, finished, upload


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    # Many batches from a small file, each its own transaction on SQLite too.
    return make_settings(import_batch_rows=3, import_sqlite_commit_rows=1)


class Boom(Exception):
    pass


async def _ledger_balances(app: FastAPI) -> None:
    """Every product's stock equals the sum of its movements."""
    async with app.state.ctx.sessionmaker() as session:
        sums = dict(
            (await session.execute(
                select(StockMovement.product_id, func.sum(StockMovement.delta))
                .group_by(StockMovement.product_id)
            )).all()
        )  # fmt: skip
        for product_id, stock in await session.execute(select(Product.id, Product.stock)):
            assert sums.get(product_id, 0) == stock, product_id


async def _queued(app: FastAPI, path: Path) -> uuid.UUID:
    job = jobs.new_job(kind=KIND, created_by=None, params={"path": str(path), "format": "csv"})
    async with app.state.ctx.sessionmaker() as session:
        session.add(job)
        await session.commit()
    return job.id


async def test_a_crashed_import_resumes_after_its_last_batch(
    app: FastAPI, client: AsyncClient, actors: Actors, tmp_path: Path
) -> None:
    staff = await actors.staff()
    await create_product(client, staff, sku="OLD-1", name="Old", price_cents=10, stock=4)
    rows = [f"NEW-{n},New {n},,{100 + n},{n},,true\r\n" for n in range(1, 10)]
    rows.insert(4, "OLD-1,Old,,10,1,,true\r\n")  # stock 4 -> 1: one movement of -3
    path = tmp_path / "crash.csv"
    path.write_text(HEADER + "".join(rows))
    runtime = app.state.ctx.jobs
    job_id = await _queued(app, path)
    async with runtime.sessionmaker() as session:
        lease = await jobs.claim(session, job_id, runtime.lease)
    assert lease is not None
    batches = 0

    def crash_after_two(job: Job) -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise Boom

    with pytest.raises(Boom):
        await run_import(runtime, lease, crash_after_two)
    async with runtime.sessionmaker() as session:
        job = await jobs.get(session, job_id, KIND)
        assert (job.status, job.rows_processed) == ("running", 6)
        # The runner is presumed dead once its lease runs out.
        await session.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        await session.commit()
    await runtime.kick(job_id)
    done = await finished(client, staff, str(job_id))
    assert done["status"] == "succeeded", done
    assert (done["rows_processed"], done["rows_created"], done["rows_updated"]) == (10, 9, 1)
    async with runtime.sessionmaker() as session:
        assert await session.scalar(select(Job.attempts).where(Job.id == job_id)) == 2
        movements = await session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.reason == "import")
        )
    assert movements == 9 + 1  # one per new product (stock 1..9), and OLD-1 4 -> 1
    await _ledger_balances(app)


async def test_a_runner_that_lost_its_lease_commits_nothing(app: FastAPI, tmp_path: Path) -> None:
    runtime = app.state.ctx.jobs
    job_id = await _queued(app, tmp_path / "none.csv")
    async with runtime.sessionmaker() as session:
        first = await jobs.claim(session, job_id, runtime.lease)
        assert first is not None
        assert await jobs.claim(session, job_id, runtime.lease) is None  # still held
        await session.execute(update(Job).values(lease_until=utcnow() - timedelta(seconds=1)))
        await session.commit()
        second = await jobs.claim(session, job_id, runtime.lease)
        assert second is not None and second.attempt == 2
        with pytest.raises(jobs.LeaseLost):
            await jobs.fence(session, first, rows_processed=99)
        await session.rollback()
        await jobs.fence(session, second, rows_processed=1)
        await session.commit()


async def test_cancel_stops_a_running_import(
    app: FastAPI, client: AsyncClient, actors: Actors, tmp_path: Path
) -> None:
    staff = await actors.staff()
    runtime = app.state.ctx.jobs
    job_id = await _queued(app, tmp_path / "x.csv")
    async with runtime.sessionmaker() as session:
        lease = await jobs.claim(session, job_id, runtime.lease)
    assert lease is not None
    response = await client.post(f"/api/v1/imports/{job_id}/cancel", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["failure_reason"]) == ("failed", "cancelled")
    async with runtime.sessionmaker() as session:
        with pytest.raises(jobs.LeaseLost):  # its next batch would roll back
            await jobs.fence(session, lease, rows_processed=3)
    again = await client.post(f"/api/v1/imports/{job_id}/cancel", headers=staff.headers)
    assert again.json()["status"] == "failed"


@pytest.mark.parametrize("order", ["same", "opposite"])
async def test_two_imports_of_the_same_skus_never_mix(
    client: AsyncClient, actors: Actors, app: FastAPI, order: str
) -> None:
    # In opposite orders, each import's two batches in flight (PostgreSQL) wait on
    # the other's: the deadlocks must be seen by the database, broken and retried.
    staff = await actors.staff()
    skus = [f"RACE-{n:03d}" for n in range(60)]

    def file(tag: str, price: int, stock: int, rows: list[str]) -> str:
        return HEADER + "".join(f"{s},{tag} {s},{tag},{price},{stock},,true\r\n" for s in rows)

    other = skus if order == "same" else skus[::-1]
    first, second = await asyncio.gather(
        upload(client, staff, file("A", 100, 1, skus)),
        upload(client, staff, file("B", 200, 2, other)),
    )
    results = await asyncio.gather(
        finished(client, staff, first["id"]), finished(client, staff, second["id"])
    )
    assert [r["status"] for r in results] == ["succeeded", "succeeded"], results
    assert sum(r["rows_created"] for r in results) == len(skus)
    async with app.state.ctx.sessionmaker() as session:
        rows = (await session.execute(
            select(Product.name, Product.description, Product.price_cents, Product.stock)
        )).all()  # fmt: skip
    assert len(rows) == len(skus)
    for name, description, price, stock in rows:
        assert (name[0], price, stock) in {("A", 100, 1), ("B", 200, 2)}
        assert description == name[0]
    await _ledger_balances(app)


async def test_the_sweep_runs_a_job_whose_message_was_lost(
    app: FastAPI, client: AsyncClient, actors: Actors, tmp_path: Path
) -> None:
    staff = await actors.staff()
    path = tmp_path / "lost.csv"
    path.write_text(HEADER + "LOST-1,Lost,,5,0,,true\r\n")
    job_id = await _queued(app, path)  # committed, never enqueued
    async with app.state.ctx.sessionmaker() as session:
        await session.execute(update(Job).values(kicked_at=utcnow() - timedelta(minutes=5)))
        await session.commit()
    sweep = app.state.ctx.jobs.broker.find_task("backroom.sweep_jobs")
    await sweep.kiq()  # through the broker, as the scheduler sends it
    done = await finished(client, staff, str(job_id))
    assert (done["status"], done["rows_created"]) == ("succeeded", 1)


def test_periodic_tasks_are_scheduled(settings: Settings) -> None:
    from backroom.jobs.runtime import build_broker

    broker = build_broker(settings)
    names = {name for name, task in broker.get_all_tasks().items() if task.labels.get("schedule")}
    assert names == {
        "backroom.sweep_jobs", "backroom.expire_orders", "backroom.purge",
        "backroom.dispatch_webhooks",
    }  # fmt: skip


async def test_a_job_enqueued_after_redis_lost_the_consumer_group_still_runs(
    app: FastAPI, client: AsyncClient, actors: Actors, settings: Settings
) -> None:
    """A Redis restarted without persistence (or flushed) has lost the stream and its
    consumer group. The listener declares the group again, from the stream's start,
    so a job a web process enqueued before that is not skipped (no sweep runs here)."""
    if settings.redis_url is None:
        pytest.skip("the job queue is in-process without Redis")
    staff = await actors.staff()
    first = await upload(client, staff, HEADER + "GRP-1,One,,5,0,,true\r\n")
    assert (await finished(client, staff, first["id"], within=10))["status"] == "succeeded"
    await app.state.ctx.redis.flushdb()  # the group is gone; the listener's read fails
    second = await upload(client, staff, HEADER + "GRP-2,Two,,5,0,,true\r\n")
    done = await finished(client, staff, second["id"], within=10)
    assert (done["status"], done["rows_created"]) == ("succeeded", 1)
