from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI

from backroom.config import Settings
from backroom.webhooks.runner import dispatch_due
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # The receiver is on loopback; retries are quick so the tests are too.
    return make_settings(
        webhook_allow_private_urls=True,
        webhook_timeout_seconds=1.0,
        webhook_retry_base_seconds=0.1,
        webhook_retry_max_delay_seconds=1.0,
        webhook_retry_horizon_seconds=60,
        rate_limit="off",
    )


@pytest.fixture
async def ticking(app: FastAPI) -> AsyncIterator[None]:
    """The dispatcher's periodic run, every 0.5 s, as the scheduler does it in
    production (BACKROOM_WEBHOOK_POLL_SECONDS). The tests keep taskiq's scheduler
    off, as everywhere, and run the same function on their own clock."""
    runtime = app.state.ctx.jobs

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.5)
            with contextlib.suppress(Exception):
                await dispatch_due(runtime)

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
async def receiver(ticking: None) -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()
