"""Load shedding and database outages: a busy pool or a database that is down gives
a fast 503 problem with Retry-After, never a 500 or a request that hangs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError

from backroom.config import Settings
from backroom.main import create_app
from backroom.readpool import ReadPool
from tests.test_http_conventions import assert_problem

PUBLIC_READS = ["/api/v1/products", "/api/v1/categories", "/readyz"]


@asynccontextmanager
async def running_app(application: FastAPI) -> AsyncIterator[AsyncClient]:
    async with LifespanManager(application):
        transport = ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    application = create_app(settings)
    async with running_app(application) as http:
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


class _DriverError(Exception):
    """What SQLAlchemy's asyncpg adapter keeps in ``DBAPIError.orig``: the SQLSTATE."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str, message: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate, message))


# A PostgreSQL that is shutting down, restarting or out of connection slots, as
# SQLAlchemy reports it and as the raw asyncpg read path (readpool.py) does.
UNAVAILABLE = {
    "57P01 admin_shutdown": _wrapped("57P01", "terminating connection due to administrator"),
    "57P02 crash_shutdown": _wrapped("57P02", "terminating connection because of crash"),
    "57P03 cannot_connect_now": _wrapped("57P03", "the database system is starting up"),
    "53300 too_many_connections": _wrapped("53300", "sorry, too many clients already"),
    "08006 connection_failure": _wrapped("08006", "could not receive data from server"),
    "08001 client cannot connect": _wrapped("08001", "could not establish a session"),
    "asyncpg 57P01": asyncpg.exceptions.AdminShutdownError("terminating connection"),
    "asyncpg 57P03": asyncpg.exceptions.CannotConnectNowError("the database is shutting down"),
    "asyncpg 53300": asyncpg.exceptions.TooManyConnectionsError("too many clients already"),
    "asyncpg 08006": asyncpg.exceptions.ConnectionFailureError("connection failure"),
    "asyncpg connection lost": asyncpg.exceptions.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation"
    ),
}  # fmt: skip
NOT_AN_OUTAGE = {
    "23505 unique_violation": _wrapped("23505", "duplicate key value violates unique constraint"),
    "asyncpg 23505": asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    "42P01 undefined_table": _wrapped("42P01", 'relation "x" does not exist'),
}


async def _raising(settings: Settings, error: Exception) -> tuple[int, dict[str, str], bytes]:
    application = create_app(settings)

    async def boom() -> None:
        raise error

    application.add_api_route("/boom", boom)
    async with running_app(application) as http:
        response = await http.get("/boom")
    return response.status_code, dict(response.headers), response.content


@pytest.mark.parametrize("error", UNAVAILABLE.values(), ids=UNAVAILABLE.keys())
async def test_postgres_shutting_down_or_full_is_503_with_retry_after(
    make_settings: Callable[..., Settings], error: Exception
) -> None:
    status, headers, body = await _raising(make_settings(), error)
    assert status == 503, body
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["retry-after"]) > 0
    assert b"SELECT" not in body and str(error).encode() not in body  # nothing internal


@pytest.mark.parametrize("error", NOT_AN_OUTAGE.values(), ids=NOT_AN_OUTAGE.keys())
async def test_other_database_errors_stay_500(
    make_settings: Callable[..., Settings], error: Exception
) -> None:
    status, headers, body = await _raising(make_settings(), error)
    assert status == 500, body
    assert "retry-after" not in headers
    assert b"request_id" in body


async def test_a_server_out_of_connection_slots_gives_503_then_serves(
    make_settings: Callable[..., Settings],
) -> None:
    """A real 53300: a role whose connection limit is 0 (a superuser would be exempt)."""
    settings = make_settings()
    if settings.is_sqlite:
        pytest.skip("connection slots are a PostgreSQL server's")
    dsn = settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://")
    role = f"backroom_full_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    try:
        # Identifiers can't be bound parameters; the name is ours, hex only.
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")  # nosec B608
        await admin.execute(f"GRANT pg_read_all_data TO {role}")  # nosec B608
        url = settings.resolved_database_url.replace("://postgres@", f"://{role}@", 1)
        async with running(make_settings(database_url=url)) as (_, http):
            for path in PUBLIC_READS:
                started = time.perf_counter()
                assert_shed(await http.get(path), started, bound=2.5)
            await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT -1")  # nosec B608
            for path in PUBLIC_READS:
                assert (await http.get(path)).status_code == 200
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role
        )
        await admin.execute(f"DROP ROLE IF EXISTS {role}")  # nosec B608
        await admin.close()
