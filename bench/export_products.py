"""Product export benchmark (issue 5): time and server RSS for N products on PostgreSQL.

Usage: flock /tmp/backroom-bench.lock python bench/export_products.py [--products 1000000]

Creates a scratch database (backroom_bench_export), migrates it, seeds N products in
set-based SQL (names and descriptions that need CSV quoting, 9 in 10 in one of 50
categories), starts `backroom serve` (one worker), and downloads
/api/v1/exports/products.csv and .ndjson with curl (cheap on CPU, so the server is
what is measured) while sampling the worker's RSS every 0.1 s. Then runs
`backroom export products` to a file. Drops the database at the end. Prints Markdown
for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import harness

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "backroom_bench_export"
DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
STAFF_EMAIL, STAFF_PASSWORD = "bench-export@example.com", "bench-export-password-1"
MAX_SECONDS = 300  # any one download or CLI run; the benchmark never hangs


async def _create_db() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await conn.close()


async def _drop_db() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    finally:
        await conn.close()


async def _seed(count: int) -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(
            """
            INSERT INTO category (id, name, slug, description, created_at, updated_at)
            SELECT gen_random_uuid(), 'Category ' || i, 'category-' || i, '', now(), now()
            FROM generate_series(1, 50) AS i
            """
        )
        # About 110 bytes a CSV row; every 7th name has a comma and quotes, every 11th
        # description a newline, so the quoting path is exercised at scale.
        await conn.execute(
            """
            WITH c AS (SELECT array_agg(id ORDER BY slug) AS ids FROM category)
            INSERT INTO product (id, sku, slug, name, description, price_cents, stock,
                                 category_id, is_active, attributes, version,
                                 created_at, updated_at)
            SELECT gen_random_uuid(), 'SKU-' || lpad(i::text, 8, '0'), 'product-' || i,
                   CASE WHEN i % 7 = 0 THEN 'Mug, "large" ' || i ELSE 'Product ' || i END,
                   CASE WHEN i % 11 = 0 THEN E'Two lines:\\nfine merino wool, item ' || i
                        ELSE 'A fine café item, made of walnut and steel, number ' || i END,
                   100 + (i * 37) % 100000, (i * 13) % 50,
                   CASE WHEN i % 10 = 0 THEN NULL ELSE c.ids[1 + i % 50] END,
                   i % 20 <> 0, '{}'::jsonb, 1, now(), now()
            FROM generate_series(1, $1) AS i, c
            """,
            count,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


@contextmanager
def rss_sampler(pid: int) -> Iterator[list[float]]:
    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(harness.rss_mb(pid))
            stop.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def _download(url: str, token: str, target: Path) -> tuple[int, int, float]:
    """(status, bytes, seconds) for one download with curl."""
    out = subprocess.run(
        ["curl", "-sS", "--max-time", str(MAX_SECONDS), "-H", f"Authorization: Bearer {token}",
         "-o", str(target), "-w", "%{http_code} %{size_download} %{time_total}", url],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return int(out[0]), int(out[1]), float(out[2])


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _check(path: Path, count: int) -> None:
    """Every product written once: count the newlines the file must have (a CSV has
    a header, and every 11th description holds a newline of its own)."""
    expected = count if path.suffix == ".ndjson" else 1 + count + count // 11
    if (found := _lines(path)) != expected:
        raise SystemExit(f"{path.name}: {found:,} newlines, expected {expected:,}")
    path.unlink()


def _measure(url: str, token: str, pid: int, name: str, target: Path, count: int) -> str:
    idle = harness.rss_mb(pid)
    with rss_sampler(pid) as samples:
        status, size, seconds = _download(f"{url}/api/v1/exports/{name}", token, target)
    if status != 200:
        raise SystemExit(f"{name}: HTTP {status}")
    _check(target, count)
    peak, after = max(samples, default=idle), harness.rss_mb(pid)
    return (
        f"| GET /exports/{name} | {size / 1e6:,.0f} | {seconds:.1f} | "
        f"{count / seconds:,.0f} | {idle:.0f} | {peak:.0f} | {after:.0f} |"
    )


def _cli(env: dict[str, str], target: Path, count: int) -> str:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "backroom", "export", "products", str(target)],
        env=env, check=True, capture_output=True, timeout=MAX_SECONDS,
    )  # fmt: skip
    seconds = time.monotonic() - started
    size = target.stat().st_size
    _check(target, count)
    return (
        f"| `backroom export products {target.name}` (whole process) | {size / 1e6:,.0f} | "
        f"{seconds:.1f} | {count / seconds:,.0f} | — | — | — |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=1_000_000)
    args = parser.parse_args()
    workdir = harness.tempdir()
    asyncio.run(_create_db())
    try:
        env = harness.base_env(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}",
                               workdir / "data")  # fmt: skip
        harness.backroom(env, "migrate")
        started = time.monotonic()
        asyncio.run(_seed(args.products))
        print(f"seeded {args.products:,} products in {time.monotonic() - started:.1f} s",
              file=sys.stderr)  # fmt: skip
        harness.backroom(env, "create-user", "--email", STAFF_EMAIL,
                         "--password", STAFF_PASSWORD, "--role", "staff")  # fmt: skip
        rows = []
        with harness.server(env, 1) as (url, process):
            token = harness.sign_in(url, STAFF_EMAIL, STAFF_PASSWORD)
            for name in ("products.csv", "products.ndjson", "products.csv"):
                target = workdir / name
                rows.append(_measure(url, token, process.pid, name, target, args.products))
        rows.append(_cli(env, workdir / "products.csv", args.products))
    finally:
        asyncio.run(_drop_db())
    print(f"Machine: {harness.machine()}; {args.products:,} products on PostgreSQL; "
          "1 worker; curl on loopback\n")  # fmt: skip
    print("| run | MB | seconds | products/s | RSS idle MB | RSS peak MB | RSS after MB |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
