"""Webhook delivery benchmark (issue 7): deliveries/s and commit→receipt latency.

Usage: flock /tmp/backroom-bench.lock python bench/webhooks.py [--events 2000]

A scratch PostgreSQL database (backroom_bench_webhooks) and Redis, as in
production: `backroom serve` (it only enqueues jobs) and one `backroom worker`
(it fans out and delivers). A receiver on 127.0.0.1 in this process answers
every delivery 200 at once and notes when it arrived. The load: 16 concurrent
clients PATCH products (each a `product.updated` event) until `--events`
events are committed; first with one endpoint subscribed, then with four (each
event delivered four times). Latency is from the event's `timestamp` (taken
inside the committing transaction) to the receipt. Prints Markdown for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime

import harness
import httpx

PG_DB = "backroom_bench_webhooks"
REDIS = "redis://127.0.0.1:6379/14"
EMAIL, PASSWORD = "bench-admin@example.com", "bench-admin-password-1"
CLIENTS = 16


class Receiver:
    """Answers 200 to every request; records (path + webhook-id, event timestamp, arrival)."""

    def __init__(self) -> None:
        self.port = harness.free_port()
        self.seen: list[tuple[str, float, float]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: httpx reuses the connection
                head = await reader.readuntil(b"\r\n\r\n")
                fields = dict(
                    line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if line
                )
                fields = {k.lower(): v for k, v in fields.items()}
                body = await reader.readexactly(int(fields["content-length"]))
                arrived = time.time()
                stamp = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
                path = head.split(b" ", 2)[1].decode()
                self.seen.append((f"{path} {fields['webhook-id']}", stamp, arrived))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def _produce(http: httpx.AsyncClient, products: list[str], events: int) -> float:
    """PATCH products from CLIENTS tasks until ``events`` changes committed; seconds taken."""
    remaining = iter(range(events))

    async def client() -> None:
        for n in remaining:
            product = products[n % len(products)]
            response = await http.patch(f"/api/v1/products/{product}", json={"price_cents": n})
            response.raise_for_status()

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return time.monotonic() - started


async def _run(url: str, token: str, events: int) -> list[str]:
    receiver = Receiver()
    await receiver.start()
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        products = []
        for n in range(100):
            body = {"sku": f"WH-{n:03d}", "name": f"Webhook bench {n}", "price_cents": 1}
            products.append((await http.post("/api/v1/products", json=body)).json()["id"])
        made = 0
        for endpoints in (1, 4):
            while made < endpoints:  # each its own path, so duplicates can be told apart
                url = f"http://127.0.0.1:{receiver.port}/hook/{made}"
                body = {"url": url, "events": ["product.updated"]}
                (await http.post("/api/v1/webhooks", json=body)).raise_for_status()
                made += 1
            receiver.seen.clear()
            produced = await _produce(http, products, events)
            rows.append(await _measure(receiver, events, endpoints, produced))
            print(rows[-1], file=sys.stderr)
    return rows


async def _measure(receiver: Receiver, events: int, endpoints: int, produced: float) -> str:
    expected = events * endpoints
    for _ in range(3000):  # at most 5 minutes
        if len(receiver.seen) >= expected:
            break
        await asyncio.sleep(0.1)
    seen = list(receiver.seen)
    latencies = sorted((arrived - stamp) * 1000 for _, stamp, arrived in seen)
    span = max(a for *_, a in seen) - min(s for _, s, _ in seen)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    duplicates = len(seen) - len({key for key, *_ in seen})
    return (
        f"| {endpoints} | {events:,} | {events / produced:,.0f} | {len(seen):,} of {expected:,} | "
        f"{len(seen) / span:,.0f} | {statistics.median(latencies):,.0f} | {p99:,.0f} | "
        f"{latencies[-1]:,.0f} | {duplicates} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000)
    args = parser.parse_args()
    workdir = harness.tempdir()
    harness.recreate_database(PG_DB)
    env = harness.base_env(
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}", workdir / "data",
        BACKROOM_REDIS_URL=REDIS, BACKROOM_WEBHOOK_ALLOW_PRIVATE_URLS="true",
    )  # fmt: skip
    worker = None
    try:
        harness.backroom(env, "migrate")
        harness.backroom(env, "create-user", "--email", EMAIL, "--password", PASSWORD,
                         "--role", "admin")  # fmt: skip
        with harness.server(env, 1) as (url, _process):
            log = (workdir / "worker.log").open("wb")
            worker = subprocess.Popen([sys.executable, "-m", "backroom", "worker"], env=env,
                                      stdout=log, stderr=log)  # fmt: skip
            token = harness.sign_in(url, EMAIL, PASSWORD)
            rows = asyncio.run(_run(url, token, args.events))
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        harness.drop_database(PG_DB)
    print(f"Machine: {harness.machine()}; PostgreSQL + Redis; serve --workers 1 (enqueues) + "
          f"one backroom worker (delivers); {CLIENTS} clients PATCHing products\n")  # fmt: skip
    print("| endpoints | events | events/s committed | deliveries received | deliveries/s | "
          "p50 ms | p99 ms | max ms | duplicates |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
