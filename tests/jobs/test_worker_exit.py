"""The worker's shutdown stays bounded even if a task ignores cancellation."""

from __future__ import annotations

import asyncio

from backroom.jobs.worker import stubborn_tasks


async def test_a_task_that_ignores_cancellation_is_reported_not_waited_for() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # swallows every cancellation, as a buggy cleanup might

    async def polite() -> None:
        await asyncio.sleep(3600)

    task, other = asyncio.create_task(stubborn()), asyncio.create_task(polite())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    left = await stubborn_tasks(grace=0.2)
    assert asyncio.get_running_loop().time() - started < 2
    assert left == [task]
    assert other.cancelled()
    release.set()
    await task


async def test_nothing_left_means_a_clean_exit() -> None:
    assert await stubborn_tasks(grace=0.2) == []
