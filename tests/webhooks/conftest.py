from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from backroom.config import Settings
from tests.webhooks.receiver import Receiver


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    # The receiver is on loopback; retries are quick so the tests are too. The
    # dispatcher runs as in production: woken after commits, and every second.
    return make_settings(
        webhook_allow_private_urls=True,
        webhook_timeout_seconds=1.0,
        webhook_retry_base_seconds=0.1,
        webhook_retry_max_delay_seconds=1.0,
        webhook_retry_horizon_seconds=60,
        webhook_poll_seconds=1,
        scheduler="on",
        rate_limit="off",
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.stop()
