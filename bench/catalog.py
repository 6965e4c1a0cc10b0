"""Catalog benchmark (issue 3): backroom against a bare asyncpg baseline, side by side.

Usage: python bench/catalog.py [--products 100000] [--seconds 10] [--sqlite]
Seeds a fresh database, then measures with wrk on loopback (64 connections):
product by id (random ids) with the cache off and on, the first product page,
a page 2,000 deep (by cursor) and a search, each next to the baseline run in the
same session. Prints Markdown for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import harness
import seed_catalog

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "backroom_bench_catalog"


@contextmanager
def baseline(dsn: str, workers: int) -> Iterator[str]:
    port = harness.free_port()
    env = {**os.environ, "DATABASE_URL": dsn, "PYTHONPATH": str(ROOT / "bench")}
    cmd = [
        sys.executable, "-m", "gunicorn", "-k", "backroom.server.Worker", "-w", str(workers),
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", "baseline:app",
    ]  # fmt: skip
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        harness.wait_http(url + "/healthz", process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _fresh_pg() -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {PG_DB}")
    finally:
        await conn.close()


async def _keys(dsn: str) -> tuple[list[str], tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        ids = [
            str(r[0]) for r in await conn.fetch("SELECT id FROM product WHERE is_active LIMIT 5000")
        ]
        deep = await conn.fetchrow(
            "SELECT created_at, id FROM product WHERE is_active AND deleted_at IS NULL "
            "ORDER BY created_at DESC, id DESC OFFSET 39999 LIMIT 1"
        )
        return ids, (deep["created_at"].isoformat(), str(deep["id"]))
    finally:
        await conn.close()


def _row(name: str, result: harness.WrkResult, base: harness.WrkResult | None) -> str:
    ratio = f"{result.requests_per_second / base.requests_per_second:.2f}" if base else "—"
    return (
        f"| {name} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} | "
        f"{result.p99_ms:.1f} | {result.errors} | {ratio} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="measure the embedded mode instead")
    args = parser.parse_args()
    if args.sqlite:
        sqlite_run(args)
        return
    from backroom.pagination import encode_cursor

    workdir = harness.tempdir()
    asyncio.run(_fresh_pg())
    dsn = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
    env = harness.base_env(
        f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}", workdir / "data"
    )
    harness.backroom(env, "migrate")
    started = time.monotonic()
    asyncio.run(seed_catalog.postgres(dsn, args.products))
    print(
        f"seeded {args.products:,} products in {time.monotonic() - started:.1f} s\n",
        file=sys.stderr,
    )
    ids, deep = asyncio.run(_keys(dsn))
    ids_file = workdir / "ids.txt"
    ids_file.write_text("\n".join(ids))
    os.environ["IDS_FILE"] = str(ids_file)
    script = str(ROOT / "bench" / "random_ids.lua")
    cursor = encode_cursor(env["BACKROOM_SECRET_KEY"].encode(), "products:-created_at", list(deep))
    s = args.seconds
    rows = []
    print(f"Machine: {harness.machine()}; {args.products:,} products on PostgreSQL; "
          f"wrk -t1 -c64 -d{s}s; {args.workers} workers each side\n")  # fmt: skip
    print("| scenario | req/s | p50 ms | p99 ms | errors | ratio to baseline |")
    print("|---|---|---|---|---|---|")
    with baseline(dsn, args.workers) as base_url:
        harness.wrk(base_url + "/api/v1/products/x", seconds=2, script=script)
        base_id = harness.wrk(base_url + "/", seconds=s, script=script)
        base_page = harness.wrk(base_url + "/api/v1/products", seconds=s)
        after = f"?after_at={deep[0].replace('+', '%2B')}&after_id={deep[1]}"
        base_deep = harness.wrk(base_url + "/api/v1/products" + after, seconds=s)
    rows += [_row("baseline: product by id", base_id, None),
             _row("baseline: first page (20)", base_page, None),
             _row("baseline: page 2,000 deep", base_deep, None)]  # fmt: skip
    for label, extra in (
        ("cache off", {"BACKROOM_CACHE": "off"}),
        ("cache on (Redis)", {"BACKROOM_REDIS_URL": "redis://127.0.0.1:6379/13"}),
    ):
        with harness.server({**env, **extra}, args.workers) as (url, _):
            harness.wrk(url + "/", seconds=2, script=script)
            result = harness.wrk(url + "/", seconds=s, script=script)
            rows.append(_row(f"backroom: product by id, {label}", result, base_id))
            if label == "cache off":
                page = harness.wrk(url + "/api/v1/products?limit=20", seconds=s)
                rows.append(_row("backroom: first page (20)", page, base_page))
                deep_page = harness.wrk(
                    url + f"/api/v1/products?limit=20&cursor={cursor}", seconds=s
                )
                rows.append(_row("backroom: page 2,000 deep", deep_page, base_deep))
                search = harness.wrk(url + "/api/v1/products?q=merino&limit=20", seconds=s)
                rows.append(_row("backroom: search q=merino", search, base_page))
    for row in rows:
        print(row)


def sqlite_run(args: argparse.Namespace) -> None:
    """The embedded mode: one SQLite file, one process (the in-process cache needs one)."""
    import sqlite3

    from backroom.pagination import encode_cursor

    workdir = harness.tempdir()
    env = harness.base_env(None, workdir / "data")
    harness.backroom(env, "migrate")
    db = workdir / "data" / "backroom.sqlite3"
    started = time.monotonic()
    seed_catalog.sqlite(db, args.products)
    print(
        f"seeded {args.products:,} products in {time.monotonic() - started:.1f} s\n",
        file=sys.stderr,
    )
    conn = sqlite3.connect(db)
    ids = [
        str(uuid.UUID(r[0]))
        for r in conn.execute("SELECT id FROM product WHERE is_active LIMIT 5000")
    ]
    deep_at, deep_id = conn.execute(
        "SELECT created_at, id FROM product WHERE is_active ORDER BY created_at DESC, id DESC "
        "LIMIT 1 OFFSET 39999"
    ).fetchone()
    conn.close()
    key = env["BACKROOM_SECRET_KEY"].encode()
    when = datetime.fromisoformat(deep_at).replace(tzinfo=UTC).isoformat()
    cursor = encode_cursor(key, "products:-created_at", [when, str(uuid.UUID(deep_id))])
    (workdir / "ids.txt").write_text("\n".join(ids))
    os.environ["IDS_FILE"] = str(workdir / "ids.txt")
    script = str(ROOT / "bench" / "random_ids.lua")
    s = args.seconds
    print(f"Machine: {harness.machine()}; {args.products:,} products on SQLite; "
          f"wrk -t1 -c64 -d{s}s; 1 worker\n")  # fmt: skip
    print("| scenario | req/s | p50 ms | p99 ms | errors | ratio to /healthz |")
    print("|---|---|---|---|---|---|")
    for label, extra in (("cache off", {"BACKROOM_CACHE": "off"}), ("cache on (in-process)", {})):
        with harness.server({**env, **extra}, 1) as (url, _):
            floor = harness.wrk(url + "/healthz", seconds=s)
            harness.wrk(url + "/", seconds=2, script=script)
            scenarios = [(f"product by id, {label}", url + "/", script)]
            if label == "cache off":
                scenarios += [
                    ("first page (20)", url + "/api/v1/products?limit=20", None),
                    ("page 2,000 deep", url + f"/api/v1/products?limit=20&cursor={cursor}", None),
                    ("search q=merino", url + "/api/v1/products?q=merino&limit=20", None),
                ]
            for name, target, lua in scenarios:
                print(_row(name, harness.wrk(target, seconds=s, script=lua), floor), flush=True)


if __name__ == "__main__":
    main()
