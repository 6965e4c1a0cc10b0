"""Test fixtures: every test runs against a clean database, on SQLite and — when
``BACKROOM_TEST_DATABASE_URL`` / ``BACKROOM_TEST_REDIS_URL`` are set — on
PostgreSQL with Redis. In CI (``CI=true``) those variables are required."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from backroom.config import Settings
from backroom.main import create_app
from tests import backends, live
from tests.factories import Actors

PG_URL = os.environ.get("BACKROOM_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("BACKROOM_TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"

if IN_CI and not (PG_URL and REDIS_URL):
    raise pytest.UsageError(
        "CI=true requires BACKROOM_TEST_DATABASE_URL and BACKROOM_TEST_REDIS_URL: "
        "PostgreSQL and Redis tests must run, not skip."
    )

BACKEND_NAMES = ["sqlite"] + (["postgres"] if PG_URL and REDIS_URL else [])


@pytest.fixture(scope="session", params=BACKEND_NAMES)
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[backends.Backend]:
    if request.param == "sqlite":
        yield backends.SQLiteBackend(tmp_path_factory.mktemp("sqlite-template"))
    else:
        assert PG_URL and REDIS_URL
        yield backends.PostgresBackend(PG_URL, REDIS_URL)


@pytest.fixture
async def prepared(backend: backends.Backend, tmp_path: Path) -> dict[str, Any]:
    """A clean database (and Redis) for this test; returns the settings overrides."""
    return await backend.fresh(tmp_path)


@pytest.fixture
def make_settings(prepared: dict[str, Any], tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "secret_key": secrets.token_urlsafe(48),
            "log_level": "WARNING",
            "access_log": False,
            # Jobs run here (through Redis when configured); periodic work is
            # triggered by the tests that need it, not by a clock.
            "jobs_in_process": True,
            "scheduler": "off",
            **prepared,
            **overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def actors(app: FastAPI, client: AsyncClient) -> Actors:
    return Actors(app, client)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Keep each backend's tests together so session fixtures are built once per backend.
    items.sort(key=lambda item: "postgres" in item.nodeid)


@pytest.fixture(scope="session")
def server(
    backend: backends.Backend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[live.LiveServer]:
    """A real ``backroom serve`` on loopback, with its own database, shared by a session."""
    workdir = tmp_path_factory.mktemp(f"live-{backend.name}")
    env = live.live_env(backend.name, workdir, PG_URL, REDIS_URL)
    with live.serve(env) as running:
        yield running
