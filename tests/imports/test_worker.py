"""``backroom worker`` as a real process: killed with SIGKILL in the middle of a
large import, then started again, it finishes the job with nothing duplicated.

On PostgreSQL the job travels through the Redis stream; on SQLite (no Redis)
the worker finds it by sweeping the job table."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select

from backroom.catalog.models import Product
from backroom.config import Settings
from backroom.inventory.models import StockMovement
from tests.factories import Actors
from tests.imports.helpers import HEADER, finished, upload

ROWS = 30_000


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    # The web process only enqueues; short leases so a dead worker is noticed quickly.
    return make_settings(
        jobs_in_process=False,
        import_batch_rows=250,
        import_sqlite_commit_rows=250,
        job_lease_seconds=2,
        job_sweep_seconds=1,
        rate_limit="off",
    )


@pytest.fixture
def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKROOM_")}
    assert settings.secret_key is not None
    env.update(
        BACKROOM_DATA_DIR=str(settings.data_dir),
        BACKROOM_DATABASE_URL=settings.resolved_database_url,
        BACKROOM_SECRET_KEY=settings.secret_key.get_secret_value(),
        BACKROOM_IMPORT_BATCH_ROWS="250",
        BACKROOM_IMPORT_SQLITE_COMMIT_ROWS="250",
        BACKROOM_JOB_LEASE_SECONDS="2",
        BACKROOM_JOB_SWEEP_SECONDS="1",
        BACKROOM_LOG_LEVEL="WARNING",
    )
    if settings.redis_url:
        env["BACKROOM_REDIS_URL"] = settings.redis_url
    return env


@pytest.fixture
def workers(worker_env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "backroom", "worker"], env=env, stdout=out, stderr=out
        )


async def test_kill_9_mid_import_then_restart_finishes_once(
    app: FastAPI, client: AsyncClient, actors: Actors, worker_env: dict[str, str],
    workers: list[subprocess.Popen[bytes]], tmp_path: Path,
) -> None:  # fmt: skip
    staff = await actors.staff()
    body = HEADER + "".join(
        f"BULK-{n:06d},Item {n},,{n % 997},{n % 7},,true\r\n" for n in range(ROWS)
    )
    log = tmp_path / "worker.log"
    workers.append(_start(worker_env, log))
    job = await upload(client, staff, body)
    url = f"/api/v1/imports/{job['id']}"
    for _ in range(3000):
        state = (await client.get(url, headers=staff.headers)).json()
        if state["rows_processed"] >= 1_000:
            break
        await asyncio.sleep(0.01)
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait(timeout=10)
    killed_at = (await client.get(url, headers=staff.headers)).json()
    assert killed_at["status"] == "running", (killed_at, log.read_text())
    assert 0 < killed_at["rows_processed"] < ROWS
    workers.append(_start(worker_env, log))
    done = await finished(client, staff, job["id"], within=120)
    assert done["status"] == "succeeded", (done, log.read_text())
    assert (done["rows_processed"], done["rows_created"], done["rows_failed"]) == (ROWS, ROWS, 0)
    async with app.state.ctx.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == ROWS
        movements = await session.scalar(select(func.count()).select_from(StockMovement))
        total = await session.scalar(select(func.sum(StockMovement.delta)))
        stock = await session.scalar(select(func.sum(Product.stock)))
    assert movements == sum(1 for n in range(ROWS) if n % 7)
    assert total == stock == sum(n % 7 for n in range(ROWS))


async def _running_import(
    client: AsyncClient, actors: Actors, workers: list[subprocess.Popen[bytes]],
    env: dict[str, str], log: Path,
) -> tuple[str, Any]:  # fmt: skip
    """Start a worker and a large import; return once the worker is in the middle of it."""
    staff = await actors.staff()
    body = HEADER + "".join(f"BULK-{n:06d},Item {n},,{n % 997},1,,true\r\n" for n in range(ROWS))
    workers.append(_start(env, log))
    job = await upload(client, staff, body)
    url = f"/api/v1/imports/{job['id']}"
    deadline = asyncio.get_running_loop().time() + 120  # a busy machine starts slowly
    while asyncio.get_running_loop().time() < deadline:
        state = (await client.get(url, headers=staff.headers)).json()
        if state["rows_processed"] >= 1_000:
            return url, staff
        await asyncio.sleep(0.01)
    output = await asyncio.to_thread(log.read_text)
    raise AssertionError(f"the import did not start: {state}\n{output[-3000:]}")


async def test_sigterm_lets_the_running_import_finish_then_exits_0(
    app: FastAPI, client: AsyncClient, actors: Actors, worker_env: dict[str, str],
    workers: list[subprocess.Popen[bytes]], tmp_path: Path,
) -> None:  # fmt: skip
    log = tmp_path / "worker.log"
    env = {**worker_env, "BACKROOM_SHUTDOWN_TIMEOUT_SECONDS": "120"}
    url, staff = await _running_import(client, actors, workers, env, log)
    workers[0].send_signal(signal.SIGTERM)
    assert workers[0].wait(timeout=130) == 0, log.read_text()
    done = (await client.get(url, headers=staff.headers)).json()
    assert done["status"] == "succeeded", (done, log.read_text())
    assert (done["rows_processed"], done["rows_created"]) == (ROWS, ROWS)


async def test_sigterm_past_the_timeout_hands_the_import_back_and_exits_0(
    app: FastAPI, client: AsyncClient, actors: Actors, worker_env: dict[str, str],
    workers: list[subprocess.Popen[bytes]], tmp_path: Path,
) -> None:  # fmt: skip
    log = tmp_path / "worker.log"
    env = {**worker_env, "BACKROOM_SHUTDOWN_TIMEOUT_SECONDS": "1"}
    url, staff = await _running_import(client, actors, workers, env, log)
    started = time.monotonic()
    workers[0].send_signal(signal.SIGTERM)
    assert workers[0].wait(timeout=30) == 0, log.read_text()
    assert time.monotonic() - started < 10  # 1 s, then the batch rolls back
    handed_back = (await client.get(url, headers=staff.headers)).json()
    # Back in the queue at once (no lease to wait out), its progress kept.
    assert handed_back["status"] == "queued", (handed_back, log.read_text())
    assert 0 < handed_back["rows_processed"] < ROWS
    workers.append(_start(worker_env, log))
    done = await finished(client, staff, handed_back["id"], within=120)
    assert done["status"] == "succeeded", (done, log.read_text())
    assert (done["rows_processed"], done["rows_created"]) == (ROWS, ROWS)
    async with app.state.ctx.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == ROWS
        assert await session.scalar(select(func.sum(Product.stock))) == ROWS
