"""Load shedding and database outages: a busy pool or a database that is down gives
a fast 503 problem with Retry-After, never a 500 or a request that hangs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from backroom.config import Settings
from backroom.main import create_app
from backroom.readpool import ReadPool
from tests.test_http_conventions import assert_problem

PUBLIC_READS = ["/api/v1/products", "/api/v1/categories", "/readyz"]


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            yield application, http


def assert_shed(response, started: float, bound: float) -> None:  # type: ignore[no-untyped-def]
    assert time.perf_counter() - started < bound
    assert_problem(response, 503)
    assert int(response.headers["retry-after"]) > 0


async def test_exhausted_pool_sheds_requests_after_the_pool_timeout(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(db_pool_size=2, db_max_overflow=0, db_pool_timeout_seconds=0.3)
    async with running(settings) as (app, http):
        assert (await http.get("/api/v1/products")).status_code == 200
        async with AsyncExitStack() as held:
            engine = app.state.ctx.engine
            for _ in range(2):  # every pooled connection busy elsewhere
                await held.enter_async_context(engine.connect())
                if (reads := ReadPool.of(engine)) is not None:  # and the read pool's too
                    await held.enter_async_context(reads.acquire())
            for path in PUBLIC_READS:
                started = time.perf_counter()
                assert_shed(await http.get(path), started, bound=2.0)
            started = time.perf_counter()
            login = await http.post(
                "/api/v1/auth/token", json={"email": "a@example.com", "password": "x" * 12}
            )
            assert_shed(login, started, bound=2.0)
            assert login.json()["detail"] == "The server is too busy right now; retry shortly."
            # Many at once: each is answered within the bound, none queues behind the others.
            started = time.perf_counter()
            burst = await asyncio.gather(*(http.get("/api/v1/products") for _ in range(20)))
            for response in burst:
                assert_shed(response, started, bound=3.0)
        # Connections back: served again, nothing left broken.
        assert (await http.get("/api/v1/products")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200


async def test_unreachable_database_is_a_fast_503_everywhere(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    async with running(settings) as (_, http):
        requests = [
            http.get("/api/v1/products"),
            http.get("/api/v1/products/01900000-0000-7000-8000-000000000000"),
            http.get("/api/v1/categories"),
            http.post(
                "/api/v1/auth/register",
                json={
                    "email": "new@example.com",
                    "password": "a-long-password-1",
                    "full_name": "N",
                },
            ),
        ]
        for request in requests:
            started = time.perf_counter()
            assert_shed(await request, started, bound=2.5)


async def test_connections_killed_under_the_app_give_503_then_recover(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    if settings.is_sqlite:
        pytest.skip("a PostgreSQL server restart; SQLite has no server")
    async with running(settings) as (_, http):
        for path in PUBLIC_READS:  # warm the pool
            assert (await http.get(path)).status_code == 200
        dsn = settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://")
        admin = await asyncpg.connect(dsn)
        try:  # what a database restart or failover does to pooled connections
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        statuses = [(await http.get(path)).status_code for path in PUBLIC_READS * 2]
        assert set(statuses) <= {200, 503}, statuses
        for path in PUBLIC_READS:
            assert (await http.get(path)).status_code == 200
