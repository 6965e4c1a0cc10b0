"""Checkout benchmark (issue 4): orders/s through POST /api/v1/orders on PostgreSQL.

Usage: flock /tmp/backroom-bench.lock python bench/checkout.py [--seconds 10]

A scratch database (backroom_bench_checkout) with 1,000 products of ample stock
and 32 customers; `backroom serve --workers 2` with Redis (the product cache and
rate limits shared, as in production; rate limiting off); wrk with 32
connections, each request a checkout of 1-3 units of a random product by a
random customer ("spread"), then every request for the same product ("hot": all
checkouts contend for one row). After each run the ledger is checked: no stock
below zero, and for every product stock = opening stock - units sold = the sum
of its ledger. Prints Markdown for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import harness

from backroom.auth.tokens import issue_access

PG_DB = "backroom_bench_checkout"
DSN = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
REDIS = "redis://127.0.0.1:6379/13"
STOCK = 1_000_000
ADDRESS = {"name": "Bench", "line1": "1 Loop Rd", "city": "Local", "postal_code": "00000",
           "country": "US"}  # fmt: skip

LUA = """
local products = {%(products)s}
local tokens = {%(tokens)s}
local address = '%(address)s'
request = function()
  local product = products[math.random(#products)]
  local body = '{"shipping_address":' .. address .. ',"items":[{"product_id":"' .. product
    .. '","quantity":' .. math.random(3) .. '}]}'
  local headers = {["Content-Type"] = "application/json",
                   ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
"""


async def _seed(products: int, customers: int) -> tuple[list[str], list[uuid.UUID]]:
    conn = await asyncpg.connect(DSN)
    try:
        now = datetime.now(UTC)
        ids = [uuid.uuid4() for _ in range(products)]
        await conn.copy_records_to_table("product", records=[
            (pid, f"BENCH-{n:05d}", f"bench-{n:05d}", f"Bench product {n}", "", 1000 + n, STOCK,
             True, "{}", 1, now, now) for n, pid in enumerate(ids)
        ], columns=["id", "sku", "slug", "name", "description", "price_cents", "stock",
                    "is_active", "attributes", "version", "created_at", "updated_at"])  # fmt: skip
        ledger = ["id", "product_id", "delta", "reason", "note", "stock_after", "created_at"]
        await conn.copy_records_to_table("stock_movement", records=[
            (uuid.uuid4(), pid, STOCK, "restock", "bench", STOCK, now) for pid in ids
        ], columns=ledger)  # fmt: skip
        people = [uuid.uuid4() for _ in range(customers)]
        await conn.copy_records_to_table("user_account", records=[
            (uid, f"bench-{uid.hex}@example.com", "!", "Bench", "customer", True, now, now, now)
            for uid in people
        ], columns=["id", "email", "password_hash", "full_name", "role", "is_active",
                    "tokens_valid_after", "created_at", "updated_at"])  # fmt: skip
        await conn.execute("ANALYZE")
        return [str(i) for i in ids], people
    finally:
        await conn.close()


async def _check() -> str:
    """Zero oversell: stock never negative, and opening - sold = stock = sum of ledger."""
    conn = await asyncpg.connect(DSN)
    try:
        bad = await conn.fetchval("""
            SELECT count(*) FROM product p
            LEFT JOIN (SELECT product_id, sum(quantity) AS sold FROM order_line GROUP BY 1) s
              ON s.product_id = p.id
            LEFT JOIN (SELECT product_id, sum(delta) AS total FROM stock_movement GROUP BY 1) m
              ON m.product_id = p.id
            WHERE p.stock < 0 OR p.stock <> $1 - coalesce(s.sold, 0) OR p.stock <> m.total
        """, STOCK)  # fmt: skip
        orders = await conn.fetchval("SELECT count(*) FROM customer_order")
        return f"{orders:,} orders, {bad} products out of balance"
    finally:
        await conn.close()


def _script(workdir: Path, products: list[str], tokens: list[str]) -> str:
    path = workdir / "checkout.lua"
    path.write_text(LUA % {
        "products": ",".join(f'"{p}"' for p in products),
        "tokens": ",".join(f'"{t}"' for t in tokens),
        "address": json.dumps(ADDRESS, separators=(",", ":")),
    })  # fmt: skip
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    workdir = harness.tempdir()
    harness.recreate_database(PG_DB)
    env = harness.base_env(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}",
                           workdir / "data", BACKROOM_REDIS_URL=REDIS)  # fmt: skip
    lines = []
    try:
        harness.backroom(env, "migrate")
        products, people = asyncio.run(_seed(1_000, 32))
        key = env["BACKROOM_SECRET_KEY"].encode()
        tokens = [issue_access(key, uid, 3600, datetime.now(UTC)) for uid in people]
        with harness.server(env, 2) as (url, process):
            for label, pool in (
                ("spread: 1,000 products", products),
                ("hot: 1 product", products[:1]),
            ):
                script = _script(workdir, pool, tokens)
                harness.wrk(url, seconds=2, connections=32, script=script)  # warm-up
                result = harness.wrk(url, seconds=args.seconds, connections=32, script=script)
                rss = sum(harness.rss_mb(pid) for pid in harness.worker_pids(process, 2))
                lines.append(
                    f"| {label} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} | "
                    f"{result.p99_ms:.1f} | {result.errors} | {rss:.0f} | {asyncio.run(_check())} |"
                )
                print(lines[-1], file=sys.stderr)
    finally:
        harness.drop_database(PG_DB)
    print(f"Machine: {harness.machine()}; PostgreSQL + Redis; serve --workers 2; "
          f"wrk -t1 -c32 -d{args.seconds}s on loopback\n")  # fmt: skip
    print("| run | orders/s | p50 ms | p99 ms | errors | workers RSS MB | ledger check |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
