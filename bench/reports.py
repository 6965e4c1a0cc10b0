"""Report latency (issue 6) on a database seeded by ``backroom seed --orders 1000000``.

Usage: flock /tmp/backroom-bench.lock python bench/reports.py [--database backroom_bench_seed]
       flock /tmp/backroom-bench.lock python bench/reports.py --sqlite-dir DIR

Starts `backroom serve` (one worker) on the given PostgreSQL database (it is not
changed, except for one staff account added for the run and removed after), warms
each report up once, then times 20 calls of each and prints the median and the
slowest, as Markdown. The database comes from `make bench-seed`; on SQLite, from
`bench/seed_orders.py --sqlite --keep`, which prints the directory to pass.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import harness
import httpx

TODAY = datetime.now(UTC).date()
YEAR = {"from": str(TODAY - timedelta(days=364)), "to": str(TODAY)}  # the seed ends today
CALLS = [
    ("sales, daily, one year", "/api/v1/reports/sales", {**YEAR, "granularity": "day"}),
    ("top 10 products, one year", "/api/v1/reports/top-products", {**YEAR, "limit": "10"}),
    ("top 10 customers, one year", "/api/v1/reports/customers", {**YEAR, "limit": "10"}),
    ("inventory", "/api/v1/reports/inventory", {}),
]


async def _drop_user(dsn: str | None, email: str, sqlite_file: Path | None) -> None:
    if sqlite_file is not None:
        with sqlite3.connect(sqlite_file) as db:
            db.execute("DELETE FROM refresh_token WHERE user_id IN "
                       "(SELECT id FROM user_account WHERE email = ?)", (email,))  # fmt: skip
            db.execute("DELETE FROM user_account WHERE email = ?", (email,))
        return
    assert dsn is not None
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DELETE FROM refresh_token WHERE user_id IN "
                           "(SELECT id FROM user_account WHERE email = $1)", email)  # fmt: skip
        await conn.execute("DELETE FROM user_account WHERE email = $1", email)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="backroom_bench_seed")
    parser.add_argument("--sqlite-dir", type=Path, help="a data directory holding the SQLite file")
    args = parser.parse_args()
    dsn: str | None = f"postgresql://postgres@127.0.0.1:5432/{args.database}"
    sqlite_file = None
    if args.sqlite_dir:
        dsn, sqlite_file = None, args.sqlite_dir / "backroom.sqlite3"
        env = harness.base_env(None, args.sqlite_dir)
        where = f"SQLite `{sqlite_file}`"
    else:
        env = harness.base_env(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.database}",
                               harness.tempdir() / "data")  # fmt: skip
        where = f"PostgreSQL `{args.database}`"
    email, password = f"bench-{uuid.uuid4().hex[:8]}@example.com", "bench-reports-password-1"
    harness.backroom(
        env, "create-user", "--email", email, "--password", password, "--role", "staff"
    )
    lines = []
    try:
        with harness.server(env, 1) as (url, _process):
            auth = {"Authorization": f"Bearer {harness.sign_in(url, email, password)}"}
            for label, path, params in CALLS:
                httpx.get(url + path, params=params, headers=auth, timeout=120).raise_for_status()
                times = []
                for _ in range(20):
                    started = time.perf_counter()
                    httpx.get(
                        url + path, params=params, headers=auth, timeout=120
                    ).raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
                lines.append(f"| {label} | {statistics.median(times):,.0f} | {max(times):,.0f} |")
    finally:
        asyncio.run(_drop_user(dsn, email, sqlite_file))
    print(f"Machine: {harness.machine()}; {where}; one worker; 20 calls each\n")
    print("| report | median ms | slowest ms |")
    print("|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
