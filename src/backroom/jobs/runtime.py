"""Where jobs run: taskiq brokers, the in-process receiver and the scheduler.

Embedded default (no Redis): an ``InMemoryBroker`` runs each job as a task in
the process that enqueued it, and the scheduler runs in every web process.
With Redis: a ``RedisStreamBroker`` (a consumer group on a Redis stream, acked
after the job ends) carries job ids to ``backroom worker`` processes, any
number of them; web processes only enqueue. Either way the database row is
the truth, and the periodic sweep re-enqueues any job whose message was lost
(Redis here keeps nothing on disk) or whose runner died.

Redis going away stops delivery, not the service: enqueueing fails (logged; the
sweep enqueues again), and the listener reconnects with pauses of at most 5 s.
A Redis that comes back empty (restarted without persistence) has lost the
consumer group too: the listener declares it again, reading the stream from its
start, so that jobs enqueued before it did are not skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker, TaskiqScheduler
from taskiq.abc.schedule_source import ScheduleSource
from taskiq.api import run_scheduler_task
from taskiq.receiver import Receiver
from taskiq.schedule_sources import LabelScheduleSource
from taskiq.scheduler.scheduled_task import ScheduledTask
from taskiq_redis import RedisStreamBroker

from backroom.catalog.cache import ProductCache
from backroom.config import Settings
from backroom.redis_client import RECONNECT_MAX_SECONDS, Backoff, Throttle
from backroom.redis_client import options as redis_options

log = logging.getLogger("backroom.jobs")

RUN_JOB = "backroom.run_job"
STREAM = "backroom:jobs"
# A message unacked this long (its worker died) is claimed by another worker;
# the lease in the database decides whether the job really needs running again.
REDIS_IDLE_MS = 120_000
# After the shutdown timeout, how long a cancelled job gets to roll back and hand
# its lease back.
_HAND_BACK_SECONDS = 5.0


@dataclass(slots=True)
class JobRuntime:
    """What a running job may use, and the broker that carries job ids."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    product_cache: ProductCache
    broker: AsyncBroker = field(init=False)
    running: set[asyncio.Task[Any]] = field(default_factory=set, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _scheduler: asyncio.Task[None] | None = field(default=None, init=False)
    _finish: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _connected: bool = field(default=False, init=False)
    _consuming: bool = field(default=False, init=False)
    _waking: set[str] = field(default_factory=set, init=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _http: httpx.AsyncClient | None = field(default=None, init=False)
    # Whether any webhook endpoint is active, and when that was last read
    # (time.monotonic()); commits wake the dispatcher only while it is true.
    webhooks_active: bool = field(default=False, init=False)
    webhooks_checked: float = field(default=0.0, init=False)

    @property
    def delivers(self) -> bool:
        """Whether ``kick`` reaches a consumer (else the sweep of a worker must find the job)."""
        return not (isinstance(self.broker, InMemoryBroker) and not self._consuming)

    @property
    def schedules(self) -> bool:
        """Whether this process runs the scheduler (the periodic tasks)."""
        return self._scheduler is not None

    @property
    def stopping(self) -> asyncio.Event:
        """Set when ``stop`` begins: long-running work should wind down."""
        return self._finish

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.job_lease_seconds)

    def __post_init__(self) -> None:
        self.broker = build_broker(self.settings)
        self.broker.state.runtime = self

    async def start(self, *, receive: bool, schedule: bool) -> None:
        """Connect the broker; optionally consume jobs and run the scheduler here.
        Redis being down doesn't stop the start: consuming retries until it is back."""
        self._consuming = receive
        await self._connect()
        if receive and not isinstance(self.broker, InMemoryBroker):
            self._tasks.append(asyncio.create_task(self._consume()))
        if schedule:
            scheduler = _Scheduler(self.broker, [LabelScheduleSource(self.broker)])
            self._scheduler = asyncio.create_task(run_scheduler_task(scheduler))

    async def _connect(self) -> bool:
        if not self._connected:
            try:
                await self.broker.startup()
                self._connected = True
            except Exception:
                log.warning("job queue unavailable; will retry", exc_info=True)
        return self._connected

    async def _consume(self) -> None:
        """Taskiq's receiver until ``stop``: stopping it through its finish event (not
        by cancelling it) lets it finish its Redis read and wait for running jobs."""
        backoff = Backoff()
        with ThreadPoolExecutor(max_workers=2) as executor:
            while not self._finish.is_set():
                if await self._connect():
                    started = time.monotonic()
                    # Before every (re)start: a Redis that came back empty has no group.
                    await self._declare_group()
                    await self._listen(executor, first_failure=backoff.pause <= 1.0)
                    if time.monotonic() - started > RECONNECT_MAX_SECONDS:
                        backoff.reset()  # it was listening: a new outage starts over
                if not self._finish.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._finish.wait(), backoff.next())

    async def _listen(self, executor: ThreadPoolExecutor, *, first_failure: bool) -> None:
        receiver = Receiver(
            self.broker, executor, run_startup=False, max_async_tasks=20,
            propagate_exceptions=False, wait_tasks_timeout=self.settings.shutdown_timeout_seconds,
        )  # fmt: skip
        try:
            await receiver.listen(self._finish)
        except Exception as exc:
            # The whole trace once per outage; then a line per attempt (1-5 s apart).
            log.warning("job queue listener failed; retrying: %r", exc, exc_info=first_failure)

    async def _declare_group(self) -> None:
        # A Redis restart (it keeps nothing on disk here) or a FLUSHDB drops the stream
        # and its consumer group, and reading fails until the group exists again. An
        # existing group is left as it is (Redis answers BUSYGROUP).
        declare = getattr(self.broker, "_declare_consumer_group", None)
        if declare is not None:
            with contextlib.suppress(Exception):
                await declare()

    async def stop(self) -> None:
        """Stop taking jobs, give running ones up to the shutdown timeout, then cancel
        them (a cancelled job rolls back its batch and hands its lease back at once)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_timeout_seconds
        self._finish.set()
        if self._background:  # wake-ups not sent yet: the periodic work covers them
            for waiting in list(self._background):
                waiting.cancel()
            await asyncio.wait(list(self._background), timeout=_HAND_BACK_SECONDS)
        if self._scheduler is not None:  # its loop ends only when cancelled
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._scheduler
            self._scheduler = None
        for task in self._tasks:
            # asyncio.wait, not wait_for: wait_for also waits for a cancelled task to
            # finish, and taskiq's receiver cleanup (shielded) can hang on a Redis read
            # cancelled mid-way for minutes. Past the deadline the listener is left.
            done, _ = await asyncio.wait(
                {task}, timeout=deadline - loop.time() + _HAND_BACK_SECONDS
            )
            if not done:
                task.cancel()
                log.warning("the job listener did not stop in time")
            elif not task.cancelled() and task.exception() is not None:
                log.warning("job runtime task failed while stopping", exc_info=task.exception())
        self._tasks.clear()
        await _drain(self.running, max(0.0, deadline - loop.time()))
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._connected:
            with contextlib.suppress(Exception):
                await self.broker.shutdown()
            self._connected = False

    async def kick(self, job_id: uuid.UUID) -> None:
        """Enqueue a job whose row has committed. A failure is logged, not raised:
        the sweep enqueues it again."""
        if not self.delivers:
            return  # no queue to share: a `backroom worker` finds it with its sweep
        task = self.broker.find_task(RUN_JOB)
        assert task is not None
        try:
            await task.kiq(str(job_id))
        except Exception:
            log.warning("could not enqueue job %s; the sweep will retry", job_id, exc_info=True)

    async def send(self, name: str, *args: str) -> None:
        """Enqueue task ``name``. A failure is logged, not raised: periodic work
        (the sweep, the webhook dispatcher) catches up."""
        if not self.delivers:
            return
        task = self.broker.find_task(name)
        assert task is not None, name
        try:
            await task.kiq(*args)
        except Exception:
            log.warning("could not enqueue %s%s", name, args, exc_info=True)

    def wake(self, name: str) -> None:
        """Enqueue task ``name`` soon, from synchronous code running in the event
        loop (a commit hook). Calls made before it is sent merge into one."""
        if name in self._waking or not self.delivers:
            return
        self._waking.add(name)

        async def go() -> None:
            self._waking.discard(name)
            await self.send(name)

        self.spawn(go())

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background (cancelled by ``stop`` if still running)."""
        if self._finish.is_set():
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def webhook_client(self) -> httpx.AsyncClient:
        """The HTTP client webhook deliveries share (closed at ``stop``)."""
        if self._http is None:
            from backroom.webhooks.sender import client

            self._http = client()
        return self._http


class _Scheduler(TaskiqScheduler):
    """Periodic tasks travel through the queue. While it is down a send fails and the
    next period sends again: one warning per 30 s, instead of taskiq's unhandled-error
    trace for every send (several a second)."""

    def __init__(self, broker: AsyncBroker, sources: list[ScheduleSource]) -> None:
        super().__init__(broker, sources)
        self.outage = Throttle()

    async def on_ready(self, source: ScheduleSource, task: ScheduledTask) -> None:
        try:
            await super().on_ready(source, task)
        except Exception as exc:
            if self.outage.due(time.monotonic()) is not None:
                log.warning("could not send periodic task %s: %r", task.task_name, exc)


async def _drain(running: set[asyncio.Task[Any]], seconds: float) -> None:
    pending = {task for task in running if not task.done()}
    if pending and seconds > 0:
        _, pending = await asyncio.wait(pending, timeout=seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=_HAND_BACK_SECONDS)


def build_broker(settings: Settings) -> AsyncBroker:
    broker: AsyncBroker
    if settings.redis_url:
        # consumer_id "0": a group declared again after a Redis restart reads the
        # stream from its start (the default, "$", would skip what web instances
        # enqueued before the worker noticed). Reading an old message again is
        # harmless: the job's row and lease decide whether it runs.
        # read_timeout above the blocking read (xread_block, 2 s).
        broker = RedisStreamBroker(
            settings.redis_url, queue_name=STREAM, consumer_group_name="backroom-workers",
            consumer_id="0", idle_timeout=REDIS_IDLE_MS, maxlen=100_000,
            **redis_options(read_timeout=5.0),
        )  # fmt: skip
    else:
        broker = InMemoryBroker(max_async_tasks=50, propagate_exceptions=False)
    _register(broker, settings)
    return broker


def _register(broker: AsyncBroker, settings: Settings) -> None:
    from backroom.jobs import tasks

    broker.register_task(tasks.run_job, task_name=RUN_JOB)
    broker.register_task(tasks.deliver_webhooks, task_name="backroom.deliver_webhooks")
    for name, func, seconds in tasks.periodic(settings):
        broker.register_task(func, task_name=name, schedule=[{"interval": seconds}])


def runtime_of(state: Any) -> JobRuntime:
    runtime: JobRuntime = state.runtime
    return runtime
