"""Live stream benchmark (issue 7): commit-to-receipt delay of GET /api/v1/events.

Usage: flock /tmp/backroom-bench.lock python bench/sse.py [--seconds 30] [--clients 200]

A scratch database (backroom_bench_sse) on PostgreSQL with Redis; three
`backroom serve` instances sharing them: A and B one process each, C two
workers (one process can't take 50 checkouts/s here with room to spare). Half the SSE
clients connect to A, half to B; orders are placed through C at a steady ~50/s
(each commits one `order.created`), so every stream is woken through Redis
pub/sub, and the instances that stream don't also serve the checkouts. The
streams' safety-net poll is left at its default (5 s), so a delay under a
second is a wake-up's.

The clients are raw asyncio sockets that only look for `id:` lines (a full SSE
parser per client would cost more CPU than the servers on these 2 cores). Two
delays per event and client: from its commit, as announced on Redis (the bench
subscribes to the wake-up channel too; the message is published from the
`after_commit` hook, so it is the closest outside view of the commit), and from
its `created_at` (stamped by `outbox.record()` inside the checkout, so this one
also counts the rest of the checkout's transaction). Every client must receive
every event of the run, in order, exactly once. Prints Markdown for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import harness
import httpx
import uvloop
from redis.asyncio import Redis

from backroom.auth.tokens import issue_access
from backroom.events import fanout

PG_DB = "backroom_bench_sse"
DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
REDIS = "redis://127.0.0.1:6379/13"
ADDRESS = {"name": "Bench", "line1": "1 Loop Rd", "city": "Local", "postal_code": "00000",
           "country": "US"}  # fmt: skip
LATENCIES: list[float] = []  # POST /orders, milliseconds
CPU: dict[str, float] = {}  # cores used during the measured run, by process group
ANNOUNCED: list[tuple[float, int]] = []  # (wall time, last id) of each Redis wake-up seen
WORKERS = {"A": 1, "B": 1, "C": 2}  # C takes the checkouts
_ID = re.compile(rb"^id: (\d+)$", re.MULTILINE)


@dataclass
class Client:
    instance: str
    seen: list[tuple[int, float]] = field(default_factory=list)  # (event id, wall time)


async def _seed(products: int, customers: int) -> tuple[list[str], list[uuid.UUID], uuid.UUID]:
    conn = await asyncpg.connect(DSN)
    try:
        now = datetime.now(UTC)
        ids = [uuid.uuid4() for _ in range(products)]
        stock = 10_000_000
        await conn.copy_records_to_table("product", records=[
            (pid, f"SSE-{n:05d}", f"sse-{n:05d}", f"Streamed {n}", "", 1000 + n, stock, True,
             "{}", 1, now, now) for n, pid in enumerate(ids)
        ], columns=["id", "sku", "slug", "name", "description", "price_cents", "stock",
                    "is_active", "attributes", "version", "created_at", "updated_at"])  # fmt: skip
        await conn.copy_records_to_table("stock_movement", records=[
            (uuid.uuid4(), pid, stock, "restock", "bench", stock, now) for pid in ids
        ], columns=["id", "product_id", "delta", "reason", "note", "stock_after",
                    "created_at"])  # fmt: skip
        people = [uuid.uuid4() for _ in range(customers + 1)]
        await conn.copy_records_to_table("user_account", records=[
            (uid, f"sse-{uid.hex}@example.com", "!", "Bench", "staff" if n == 0 else "customer",
             True, now, now, now) for n, uid in enumerate(people)
        ], columns=["id", "email", "password_hash", "full_name", "role", "is_active",
                    "tokens_valid_after", "created_at", "updated_at"])  # fmt: skip
        await conn.execute("ANALYZE")
        return [str(i) for i in ids], people[1:], people[0]
    finally:
        await conn.close()


async def _listen(url: str, token: str, client: Client, ready: asyncio.Event,
                  stop: asyncio.Event) -> None:  # fmt: skip
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    ready.set()
    carry = b""
    try:
        while not stop.is_set():
            chunk = await reader.read(65536)
            if not chunk:
                raise RuntimeError("the server ended a stream")
            now = time.time()
            data = carry + chunk
            end = data.rfind(b"\n\n") + 2  # messages never span chunks; reads may split them
            client.seen += [(int(m), now) for m in _ID.findall(data, 0, end)]
            carry = data[end:]
    finally:
        writer.close()


async def _announcements(stop: asyncio.Event, subscribed: asyncio.Event) -> None:
    """Record when each commit is announced on Redis (what woke the streams): the
    closest outside view of the commit itself. The message names no id (writers
    learn their ids only inside COMMIT), so the newest id is read from the log
    right after; an event that committed in between counts as announced with
    this message, which can only make its measured delay shorter, by that read."""
    redis = Redis.from_url(REDIS)
    conn = await asyncpg.connect(DSN)
    try:
        async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            await pubsub.subscribe(fanout.channel(redis))
            subscribed.set()
            while not stop.is_set():
                message = await pubsub.get_message(timeout=0.5)
                if message is not None:
                    seen = time.time()
                    newest = await conn.fetchval("SELECT coalesce(max(id), 0) FROM event")
                    ANNOUNCED.append((seen, int(newest)))
    finally:
        await conn.close()
        await redis.aclose()


async def _place(
    url: str, tokens: list[str], products: list[str], seconds: float, rate: int
) -> int:
    """POST /orders at a steady rate for ``seconds``; returns how many succeeded."""
    placed = 0
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as http:

        async def one(n: int) -> None:
            nonlocal placed
            body = {
                "shipping_address": ADDRESS,
                "items": [{"product_id": products[n % len(products)], "quantity": 1}],
            }
            headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
            sent = time.monotonic()
            response = await http.post("/api/v1/orders", headers=headers, json=body)
            LATENCIES.append((time.monotonic() - sent) * 1000)
            placed += response.status_code == 201

        tasks = []
        start = time.monotonic()
        for n in range(int(seconds * rate)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return placed


async def _created_at(first: int, last: int) -> dict[int, float]:
    conn = await asyncpg.connect(DSN)
    try:
        rows = await conn.fetch(
            "SELECT id, created_at FROM event WHERE id BETWEEN $1 AND $2", first, last
        )
        return {r["id"]: r["created_at"].timestamp() for r in rows}
    finally:
        await conn.close()


async def _last_event() -> int:
    conn = await asyncpg.connect(DSN)
    try:
        return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM event"))
    finally:
        await conn.close()


async def _run(
    urls: dict[str, str],
    staff: str,
    tokens: list[str],
    products: list[str],
    args: Any,
    cpu: Callable[[], dict[str, float]],
) -> tuple[list[Client], int, int, int]:
    clients, seconds, rate = args.clients, args.seconds, args.rate
    stop = asyncio.Event()
    subscribers = [Client("A" if n % 2 == 0 else "B") for n in range(clients)]
    readies = [asyncio.Event() for _ in subscribers]
    listeners = [
        asyncio.create_task(_listen(urls[c.instance], staff, c, ready, stop))
        for c, ready in zip(subscribers, readies, strict=True)
    ]
    subscribed = asyncio.Event()
    announcements = asyncio.create_task(_announcements(stop, subscribed))
    await asyncio.gather(subscribed.wait(), *(r.wait() for r in readies))
    await _place(urls["C"], tokens, products, 3, rate)  # warm-up, not measured
    await asyncio.sleep(1)
    first = await _last_event() + 1
    before = cpu()
    placed = await _place(urls["C"], tokens, products, seconds, rate)
    CPU.update({k: (v - before[k]) / seconds for k, v in cpu().items()})
    last = await _last_event()
    await asyncio.sleep(3)  # the last events reach everyone
    stop.set()
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, announcements, return_exceptions=True)
    return subscribers, first, last, placed


def _cpu_seconds(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each server (its workers) and by this client."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pids in groups.items():
        stats = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in pids]
        out[name] = sum(int(f[11]) + int(f[12]) for f in stats) / tick
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["clients"] = usage.ru_utime + usage.ru_stime
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _committed(expected: list[int]) -> dict[int, float]:
    """Each event's commit as announced: the first Redis message after which the
    log held its id."""
    out: dict[int, float] = {}
    pending = iter(expected)
    event = next(pending, None)
    for seen, last_id in sorted(ANNOUNCED):
        while event is not None and event <= last_id:
            out[event] = seen
            event = next(pending, None)
    return out


def _report(
    subscribers: list[Client], created: dict[int, float], first: int, last: int
) -> list[str]:
    expected = sorted(i for i in created if first <= i <= last)
    committed = _committed(expected)
    lines = []
    for label in ("A", "B", "all"):
        group = [c for c in subscribers if label in ("all", c.instance)]
        since_commit: list[float] = []
        since_record: list[float] = []
        complete = 0
        for client in group:
            got = [(i, t) for i, t in client.seen if first <= i <= last]
            complete += [i for i, _ in got] == expected
            since_commit += [(t - committed[i]) * 1000 for i, t in got if i in committed]
            since_record += [(t - created[i]) * 1000 for i, t in got]
        lines.append(
            f"| {label} | {len(group)} | {len(expected):,} | {complete}/{len(group)} | "
            f"{statistics.median(since_commit):.0f} | {_percentile(since_commit, 0.99):.0f} | "
            f"{max(since_commit):.0f} | {statistics.median(since_record):.0f} | "
            f"{_percentile(since_record, 0.99):.0f} |"
        )
    return lines


@contextmanager
def _servers(
    env: dict[str, str],
) -> Iterator[tuple[dict[str, str], dict[str, subprocess.Popen[bytes]]]]:
    with ExitStack() as stack:
        urls, processes = {}, {}
        for name in "ABC":
            urls[name], processes[name] = stack.enter_context(harness.server(env, WORKERS[name]))
        yield urls, processes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=50, help="orders per second")
    args = parser.parse_args()
    workdir = harness.tempdir()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    harness.recreate_database(PG_DB)
    env = harness.base_env(
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}", workdir / "data",
        BACKROOM_REDIS_URL=REDIS, BACKROOM_EVENTS_MAX_STREAMS=str(args.clients),
    )  # fmt: skip
    try:
        harness.backroom(env, "migrate")
        products, people, staff_id = asyncio.run(_seed(200, 16))
        key = env["BACKROOM_SECRET_KEY"].encode()
        now = datetime.now(UTC)
        tokens = [issue_access(key, uid, 3600, now) for uid in people]
        staff = issue_access(key, staff_id, 3600, now)
        with _servers(env) as (urls, processes):
            groups = {n: harness.worker_pids(p, WORKERS[n]) for n, p in processes.items()}
            subscribers, first, last, placed = uvloop.run(
                _run(urls, staff, tokens, products, args, lambda: _cpu_seconds(groups))
            )
            rss = {
                name: sum(harness.rss_mb(p) for p in harness.worker_pids(process, WORKERS[name]))
                for name, process in processes.items()
            }
        created = asyncio.run(_created_at(first, last))
        lines = _report(subscribers, created, first, last)
    finally:
        harness.drop_database(PG_DB)
    rate = placed / args.seconds
    print(f"Machine: {harness.machine()}; load average before the run {load}; PostgreSQL + "
          f"Redis; three `backroom serve` instances (A, B: one process; C: two workers); "
          f"{args.clients} SSE clients split between A and B; orders through C at {rate:.0f}/s for "
          f"{args.seconds} s ({placed:,} orders); RSS after the run: A {rss['A']:.0f} MB, "
          f"B {rss['B']:.0f} MB, C {rss['C']:.0f} MB\n")  # fmt: skip
    print("| clients on | clients | events | got all, in order | commit→receipt p50 ms | p99 ms "
          "| max ms | created_at→receipt p50 ms | p99 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    used = ", ".join(f"{name} {cores:.2f}" for name, cores in CPU.items())
    print(f"\nCores used while orders were placed: {used}")
    p50, p99 = _percentile(LATENCIES, 0.5), _percentile(LATENCIES, 0.99)
    print(f"\nPOST /orders (all, warm-up included): p50 {p50:.0f} ms, p99 {p99:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
