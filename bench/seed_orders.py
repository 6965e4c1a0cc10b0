"""Time `backroom seed` at benchmark scale on a scratch database it creates.

    flock /tmp/backroom-bench.lock .venv/bin/python bench/seed_orders.py
    flock /tmp/backroom-bench.lock .venv/bin/python bench/seed_orders.py --sqlite

PostgreSQL: drops and recreates `backroom_bench_seed` (on the server of
BENCH_PG_ADMIN_DSN, default the local one), migrates, then times the seed command
alone. The database is kept afterwards, vacuumed and analyzed, for the reports
benchmarks. SQLite: the same in a temporary data directory (deleted at the end
unless --keep). Prints wall time, peak RSS of the seed process and row counts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = "backroom_bench_seed"
BIN = Path(sys.executable).parent
TABLES = (
    "product", "stock_movement", "user_account", "customer_order", "order_line",
    "order_event", "payment",
)  # fmt: skip


def _run_timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{args[0]} exited with {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024


async def _recreate_pg() -> str:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DB_NAME}")
    finally:
        await admin.close()
    return ADMIN_DSN.rsplit("/", 1)[0] + "/" + DB_NAME


async def _pg_report(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        print(
            f"VACUUM (ANALYZE) afterwards (not timed above): {time.perf_counter() - started:.1f} s"
        )
        for table in TABLES:
            rows = await conn.fetchval(f"SELECT count(*) FROM {table}")
            size = await conn.fetchval(f"SELECT pg_total_relation_size('{table}')")
            print(f"  {table:<16} {rows:>12,} rows {size / 2**20:>9,.0f} MiB with indexes")
        total = await conn.fetchval("SELECT pg_database_size(current_database())")
        print(f"  database size {total / 2**20:,.0f} MiB")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sqlite", action="store_true", help="SQLite in a temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="backroom-bench-seed-"))
    env = {**os.environ, "BACKROOM_DATA_DIR": str(workdir), "BACKROOM_LOG_LEVEL": "WARNING"}
    dsn = None
    if args.sqlite:
        env.pop("BACKROOM_DATABASE_URL", None)
    else:
        dsn = asyncio.run(_recreate_pg())
        env["BACKROOM_DATABASE_URL"] = dsn.replace("postgresql://", "postgresql+asyncpg://")
    subprocess.run([str(BIN / "backroom"), "migrate"], env=env, check=True)
    command = [
        str(BIN / "backroom"), "seed", "--products", str(args.products), "--customers",
        str(args.customers), "--orders", str(args.orders), "--seed", str(args.seed),
    ]  # fmt: skip
    print("timing:", " ".join(command[1:]), "on", "SQLite" if args.sqlite else DB_NAME)
    elapsed, rss = _run_timed(command, env)
    print(f"seed: {elapsed:.1f} s wall, peak RSS {rss:,.0f} MiB")
    if dsn is not None:
        asyncio.run(_pg_report(dsn))
    else:
        size = (workdir / "backroom.sqlite3").stat().st_size
        print(f"  SQLite file {size / 2**20:,.0f} MiB")
        if args.keep:
            print(f"  kept: {workdir} (bench/reports.py --sqlite-dir {workdir})")
        else:
            shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
