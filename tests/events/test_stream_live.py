"""``GET /events`` over real sockets against running servers: on SQLite one
instance, on PostgreSQL + Redis two instances sharing the database (events
produced through A reach subscribers on B).

The servers poll the log only every 30 s here, so an event that arrives within
a few seconds came through a wake-up: the committing process's own notifier,
or Redis pub/sub from the other instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backroom.auth.tokens import issue_access
from backroom.config import Settings
from backroom.db import begin_write, create_engine, create_sessionmaker, utcnow
from backroom.events import fanout, outbox
from backroom.events.types import EventType
from backroom.redis_client import create_redis
from tests import live
from tests.backends import Backend
from tests.conftest import PG_URL, REDIS_URL
from tests.events import sse
from tests.test_http_conventions import assert_problem

pytestmark = pytest.mark.live
PASSWORD = "correct-horse-battery-9"
MAX_STREAMS = 3


@dataclass
class Cluster:
    a: live.LiveServer
    b: live.LiveServer  # another instance on PostgreSQL; the same one on SQLite
    env: dict[str, str]
    staff: dict[str, str]
    customer: dict[str, str]
    staff_id: uuid.UUID


@pytest.fixture(scope="module")
def cluster(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    env = live.live_env(
        backend.name, tmp_path_factory.mktemp(f"sse-{backend.name}"), PG_URL, REDIS_URL,
        name="sse",
    )  # fmt: skip
    if REDIS_URL and "BACKROOM_REDIS_URL" in env:
        env["BACKROOM_REDIS_URL"] = REDIS_URL  # ours alone while this module runs
    env.update(
        BACKROOM_EVENTS_HEARTBEAT_SECONDS="0.5",
        BACKROOM_EVENTS_MAX_STREAMS=str(MAX_STREAMS),
        BACKROOM_EVENTS_POLL_SECONDS="30",
        BACKROOM_EVENTS_SEND_TIMEOUT_SECONDS="300",
    )
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(live.serve(env))
        b = stack.enter_context(live.serve(env)) if backend.name == "postgres" else a
        live.create_admin(env, "admin@example.com", PASSWORD)
        staff = _sign_in(a, "admin@example.com")
        customer = {"email": "buyer@example.com", "password": PASSWORD, "full_name": "B"}
        assert httpx.post(f"{a.url}/api/v1/auth/register", json=customer).status_code == 201
        me = httpx.get(f"{a.url}/api/v1/users/me", headers=staff).json()
        yield Cluster(a, b, env, staff, _sign_in(a, customer["email"]), uuid.UUID(me["id"]))


def _sign_in(server: live.LiveServer, email: str) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD}
    response = httpx.post(f"{server.url}/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@contextlib.asynccontextmanager
async def _clients(cluster: Cluster) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with sse.client(cluster.a.url) as on_a, sse.client(cluster.b.url) as on_b:
        yield on_a, on_b


async def _product(http: httpx.AsyncClient, staff: dict[str, str]) -> str:
    body = {"sku": f"S-{uuid.uuid4().hex[:12]}", "name": "Streamed", "price_cents": 10, "stock": 50}
    response = await http.post("/api/v1/products", headers=staff, json=body)
    assert response.status_code == 201, response.text
    return str(body["sku"])


def _ids(messages: list[sse.Message]) -> list[int]:
    return [int(m.id or 0) for m in messages]


async def _open_streams(server: live.LiveServer) -> int:
    async with httpx.AsyncClient(base_url=server.url) as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("backroom_event_streams "):
            return int(float(line.split()[1]))
    raise AssertionError("no backroom_event_streams in /metrics")


async def _wait_streams(server: live.LiveServer, expected: int) -> None:
    deadline = time.monotonic() + 15
    while (count := await _open_streams(server)) != expected:
        assert time.monotonic() < deadline, f"{count} streams open, expected {expected}"
        await asyncio.sleep(0.1)


async def test_a_subscriber_that_reconnects_gets_exactly_what_it_missed(cluster: Cluster) -> None:
    async with _clients(cluster) as (on_a, on_b), sse.subscribe(on_b, cluster.staff) as steady:
        async with sse.subscribe(on_a, cluster.staff) as leaving:
            skus = [await _product(on_a, cluster.staff) for _ in range(4)]
            seen = await leaving.events(4)
        # Produced on A, received on B within seconds (the servers poll every 30 s).
        first = await steady.events(4, within=5)
        assert _ids(first) == _ids(seen)
        skus += [await _product(on_a, cluster.staff) for _ in range(5)]
        everything = first + await steady.events(5, within=5)
        # Reconnect, to the other instance, with the last id seen.
        async with sse.subscribe(on_b, cluster.staff, last_event_id=seen[-1].id) as back:
            replayed = await back.events(5)
            assert _ids(replayed) == _ids(everything)[4:]
            skus.append(await _product(on_a, cluster.staff))
            latest = (await steady.events(1, within=5))[0]
            assert _ids(await back.events(1, within=5)) == [int(latest.id or 0)]
            assert await back.quiet(0.5) == []  # no duplicates
    everything.append(latest)
    ids = _ids(everything)
    assert ids == sorted(set(ids))
    for message, sku in zip(everything, skus, strict=True):
        body = message.body()
        assert message.event == body["type"] == "product.created"
        assert message.id == body["id"]
        assert body["data"]["sku"] == sku
        assert body["timestamp"].endswith("Z")


async def test_types_filter_the_stream_and_the_replay(cluster: Cluster) -> None:
    async with _clients(cluster) as (on_a, on_b):
        wanted = "product.updated,product.deleted"
        async with sse.subscribe(on_b, cluster.staff, types=wanted) as stream:
            await _product(on_a, cluster.staff)
            created = await on_a.post(
                "/api/v1/products", headers=cluster.staff,
                json={"sku": f"T-{uuid.uuid4().hex[:8]}", "name": "T", "price_cents": 1},
            )  # fmt: skip
            url = f"/api/v1/products/{created.json()['id']}"
            patched = await on_a.patch(url, headers=cluster.staff, json={"price_cents": 2})
            assert patched.status_code == 200
            assert (await on_a.delete(url, headers=cluster.staff)).status_code == 204
            got = await stream.events(2, within=5)
            assert [m.event for m in got] == ["product.updated", "product.deleted"]
            assert await stream.quiet(0.5) == []
        async with sse.subscribe(
            on_a, cluster.staff, types=" product.deleted ", last_event_id=0
        ) as replay:
            replayed = await replay.until(int(got[-1].id or 0), within=10)
    assert {m.event for m in replayed} == {"product.deleted"}
    assert replayed[-1].body() == got[-1].body()


async def test_anonymous_customers_and_bad_input_are_refused(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.a.url, timeout=10) as http:
        assert_problem(await http.get("/api/v1/events"), 401)
        bad_token = {"Authorization": "Bearer not-a-token"}
        assert_problem(await http.get("/api/v1/events", headers=bad_token), 401)
        assert_problem(await http.get("/api/v1/events", headers=cluster.customer), 403)
        for types in ("nope", "", "order.paid,", "ORDER.PAID", "order.paid,,order.created"):
            response = await http.get(
                "/api/v1/events", params={"types": types}, headers=cluster.staff
            )
            assert assert_problem(response, 422)["errors"][0]["field"] == "types", types
        too_long = ",".join(["order.paid"] * 200)
        response = await http.get(
            "/api/v1/events", params={"types": too_long}, headers=cluster.staff
        )
        assert_problem(response, 422)
        for value in ("abc", "-1", "1.5", "", "12 x", "99999999999999999999", "0x10"):
            headers = {**cluster.staff, "Last-Event-ID": value}
            response = await http.get("/api/v1/events", headers=headers)
            body = assert_problem(response, 422)
            assert body["errors"][0]["field"] == "Last-Event-ID", value


async def test_heartbeats_keep_an_idle_stream_alive(cluster: Cluster) -> None:
    async with sse.client(cluster.a.url) as http, sse.subscribe(http, cluster.staff) as stream:
        assert stream.response.headers["cache-control"] == "no-cache, no-store"
        assert stream.response.headers["x-accel-buffering"] == "no"
        beats = [await stream.next(within=3) for _ in range(3)]
    assert all(m.comments == ["heartbeat"] and not m.is_event for m in beats)


async def test_head_answers_without_opening_a_stream(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.a.url, timeout=5) as http:
        response = await http.head("/api/v1/events", headers=cluster.staff)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b""


async def test_streams_past_the_cap_get_503_and_closed_ones_free_their_slot(
    cluster: Cluster,
) -> None:
    await _wait_streams(cluster.a, 0)  # every earlier test's streams were cleaned up
    async with sse.client(cluster.a.url) as http, contextlib.AsyncExitStack() as stack:
        closing = sse.subscribe(http, cluster.staff)
        await closing.__aenter__()
        for _ in range(MAX_STREAMS - 1):
            await stack.enter_async_context(sse.subscribe(http, cluster.staff))
        await _wait_streams(cluster.a, MAX_STREAMS)
        refused = await http.get("/api/v1/events", headers=cluster.staff)
        assert_problem(refused, 503)
        assert int(refused.headers["retry-after"]) >= 1
        if cluster.b is not cluster.a:  # the cap is per instance
            async with sse.client(cluster.b.url) as on_b, sse.subscribe(on_b, cluster.staff):
                pass
        await closing.__aexit__(None, None, None)  # the client goes away
        await _wait_streams(cluster.a, MAX_STREAMS - 1)
        async with sse.subscribe(http, cluster.staff) as again:
            await again.next(within=3)  # a heartbeat: the stream is live
    await _wait_streams(cluster.a, 0)


async def test_an_event_without_a_wake_up_is_still_delivered_in_order(cluster: Cluster) -> None:
    """An event committed by another process that tells nobody (a lost wake-up) is
    found by the next look at the log, before what committed after it."""
    async with _clients(cluster) as (on_a, _on_b), sse.subscribe(on_a, cluster.staff) as stream:
        await _write_events(cluster, 1, size=10)
        assert await stream.quiet(1.0) == []  # nothing woke the stream yet
        sku = await _product(on_a, cluster.staff)
        silent, woke = await stream.events(2, within=5)
    assert silent.event == "product.updated" and silent.body()["data"]["n"] == 0
    assert woke.body()["data"]["sku"] == sku
    assert int(silent.id or 0) < int(woke.id or 0)


async def test_events_committed_by_another_process_arrive_through_redis(
    cluster: Cluster, backend: Backend
) -> None:
    if backend.name != "postgres":
        pytest.skip("without Redis, other processes' events are found by the poll (test_hub)")
    async with sse.client(cluster.b.url) as on_b, sse.subscribe(on_b, cluster.staff) as stream:
        await _write_events(cluster, 3, size=10, publish=True)  # as `backroom worker` does
        got = await stream.events(3, within=5)
    assert [m.body()["data"]["n"] for m in got] == [0, 1, 2]


async def test_a_client_that_stops_reading_costs_no_memory(cluster: Cluster) -> None:
    """A paused client while 11,000 events of 4 KB (45 MB) commit. Once the window is
    full, the server grows by far less than what the paused client is missing (a
    buffer per client would hold all of it: 36 MB over the last three rounds; what
    grows here is caches, e.g. SQLite's 2 MB per pooled connection). Other
    subscribers keep up, and the paused client later gets everything, in order."""
    pid = cluster.a.process.pid
    async with (
        sse.client(cluster.a.url, receive_buffer=65536) as slow_http,
        sse.client(cluster.a.url) as http,
        sse.subscribe(slow_http, cluster.staff) as paused,
        sse.subscribe(http, cluster.staff) as reader,
    ):
        seen: list[sse.Message] = []
        rss: list[int] = []
        for count in (2000, 3000, 3000, 3000):  # the first fills the window
            await _write_events(cluster, count, size=4096, wake=http)
            seen += await _drain(reader)
            rss.append(_rss(pid))
        assert (await http.get("/healthz")).status_code == 200  # still serving
        resumed = await paused.until(_ids(seen)[-1], within=120)
    missed = 9000 * 4096
    assert rss[3] - rss[0] < missed / 2, rss
    assert _ids(resumed) == _ids(seen)
    assert _ids(resumed) == sorted(set(_ids(resumed)))


async def test_a_stream_ends_when_its_token_expires(cluster: Cluster) -> None:
    key = cluster.env["BACKROOM_SECRET_KEY"].encode()
    token = issue_access(key, cluster.staff_id, 2, utcnow())
    headers = {"Authorization": f"Bearer {token}"}
    async with sse.client(cluster.a.url) as http, sse.subscribe(http, headers) as stream:
        seen = await stream.rest(within=6)
    assert any("expired" in c for m in seen for c in m.comments)


async def test_shutdown_ends_streams_cleanly_and_promptly(cluster: Cluster) -> None:
    manager = live.serve(cluster.env)
    server = await asyncio.to_thread(manager.__enter__)
    try:
        async with sse.client(server.url) as http, sse.subscribe(http, cluster.staff) as stream:
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            await stream.rest(within=8)  # the stream's end, not a broken connection
        code = await asyncio.to_thread(server.process.wait, 15)
        # uvicorn re-raises the signal it caught once it has shut down gracefully.
        assert code in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 8  # well before the 20 s graceful timeout
        port = server.url.rsplit(":", 1)[1]
        log = (Path(cluster.env["BACKROOM_DATA_DIR"]).parent / f"server-{port}.log").read_text()
        assert '"level":"error"' not in log, log  # e.g. a stream cut off by uvicorn
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def test_a_client_that_never_reads_again_is_dropped(cluster: Cluster) -> None:
    """With a 1 s send timeout: a client that stops reading while 8 MB of events
    commit (more than the socket buffers hold) loses its stream and its slot."""
    env = {**cluster.env, "BACKROOM_EVENTS_SEND_TIMEOUT_SECONDS": "1"}
    manager = live.serve(env)
    server = await asyncio.to_thread(manager.__enter__)
    try:
        async with (
            sse.client(server.url, receive_buffer=4096) as stuck_http,
            sse.client(server.url) as http,
            sse.subscribe(stuck_http, cluster.staff),
        ):
            await _wait_streams(server, 1)
            await _write_events(cluster, 2000, size=4096, wake=http)
            await _wait_streams(server, 0)  # while the client still holds its socket
            async with sse.subscribe(http, cluster.staff) as fresh:
                await fresh.next(within=3)  # the server serves streams as before
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def _drain(stream: sse.Stream) -> list[sse.Message]:
    """Everything up to the newest event (the last product made by ``_write_events``)."""
    found: list[sse.Message] = []
    while True:
        message = await stream.next(within=20)
        if message.is_event:
            found.append(message)
            if message.event == "product.created":
                return found


async def _write_events(
    cluster: Cluster,
    count: int,
    *,
    size: int,
    publish: bool = False,
    wake: httpx.AsyncClient | None = None,
) -> None:
    """Commit ``count`` events straight into the servers' database, from this process,
    in batches; then, with ``wake``, make a product through the API, whose commit
    wakes the server (a direct commit here tells it nothing unless ``publish``)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=Path(cluster.env["BACKROOM_DATA_DIR"]),
        database_url=cluster.env.get("BACKROOM_DATABASE_URL"),
        redis_url=cluster.env.get("BACKROOM_REDIS_URL"), secret_key="x" * 48,
    )  # fmt: skip
    engine = create_engine(settings)
    notifier = outbox.Notifier()
    redis = create_redis(settings.redis_url) if publish and settings.redis_url else None
    publisher = fanout.Publisher(redis) if redis is not None else None
    if publisher is not None:
        notifier.subscribe(publisher.committed)
    try:
        async with create_sessionmaker(engine, {outbox.NOTIFIER: notifier})() as session:
            for start in range(0, count, 250):
                await begin_write(session)
                for n in range(start, min(count, start + 250)):
                    outbox.record(session, EventType.PRODUCT_UPDATED, {"n": n, "pad": "x" * size})
                await session.commit()
    finally:
        if publisher is not None and redis is not None:
            await publisher.close()
            await redis.aclose()
        await engine.dispose()
    if wake is not None:
        await _product(wake, cluster.staff)


def _rss(pid: int) -> int:
    """Resident memory of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")
