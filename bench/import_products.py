"""Product import benchmark (issue 5): a 1,000,000-row CSV through the HTTP API.

Usage: flock /tmp/backroom-bench.lock python bench/import_products.py [--rows N] [--sqlite]
       [--once] [--batch-rows N] [--commit-rows N] [--profile FLAME.svg] [--csv FILE]

Writes a realistic CSV (quoted descriptions with commas and quotes, 50 categories,
~150 bytes a row), creates a scratch database (PostgreSQL ``backroom_bench_import``,
or a SQLite file), starts ``backroom serve`` (one process; jobs run in it, the
embedded default), uploads the file with curl and polls the job until it is over,
sampling the server's RSS every 0.1 s. Then uploads the same file again: every
row is unchanged, so that run measures the read-compare path (``--once`` skips
it). ``--profile`` records the server with py-spy during the first import (a
flame graph of every thread). Prints Markdown for
docs/performance.md, with the server's CPU seconds and the load average. Every
run is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import harness
import httpx

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "backroom_bench_import"
STAFF_EMAIL, STAFF_PASSWORD = "bench-import@example.com", "bench-import-password-1"
MAX_SECONDS = 600
WORDS = [
    "steel",
    "oak",
    "linen",
    "blue",
    "compact",
    "travel",
    "classic",
    "pro",
    "mini",
    "wool",
    "ceramic",
    "garden",
    "studio",
    "daily",
    "soft",
    "bold",
    "quiet",
    "solar",
    "urban",
    "field",
]


def write_csv(path: Path, rows: int) -> int:
    rng = random.Random(5)
    with path.open("w", newline="") as out:
        out.write("sku,name,description,price_cents,stock,category_slug,is_active\r\n")
        for n in range(rows):
            name = " ".join(rng.choice(WORDS) for _ in range(3)).title()
            words = " ".join(rng.choice(WORDS) for _ in range(9))
            description = f'"{name}, {words}; the ""{rng.choice(WORDS)}"" edition"'
            active = "true" if n % 10 else "false"
            out.write(f"BENCH-{n:07d},{name} {n},{description},{rng.randint(99, 99_999)},"
                      f"{rng.randint(0, 500)},category-{n % 50},{active}\r\n")  # fmt: skip
    return path.stat().st_size


async def _pg(statement: str, dsn: str = PG_ADMIN) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


CATEGORIES = (
    "INSERT INTO category (id, name, slug, description, created_at, updated_at) VALUES "
    + ", ".join(f"('{uuid.uuid4().hex}', 'Category {i}', 'category-{i}', '', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)" for i in range(50))
)  # fmt: skip


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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def profiled(pid: int, flame: Path | None) -> Iterator[None]:
    if flame is None:
        yield
        return
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "50",
         "--output", str(flame), "--format", "flamegraph", "--idle", "--threads"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes the graph when interrupted
        spy.wait(timeout=120)


def run_import(
    url: str, token: str, path: Path, pid: int, label: str, flame: Path | None = None
) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    cpu = cpu_seconds(pid)
    with rss_sampler(pid) as rss, profiled(pid, flame):
        idle = harness.rss_mb(pid)
        started = time.monotonic()
        upload = subprocess.run(
            ["curl", "-sS", "--max-time", str(MAX_SECONDS), "-H", f"Authorization: Bearer {token}",
             "-H", "Content-Type: text/csv", "--data-binary", f"@{path}",
             "-o", "/dev/null", "-D", "-", f"{url}/api/v1/imports/products"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        uploaded = time.monotonic() - started
        location = next(line.split(":", 1)[1].strip() for line in upload.stdout.splitlines()
                        if line.lower().startswith("location:"))  # fmt: skip
        while True:
            job = httpx.get(f"{url}{location}", headers=auth, timeout=30).json()
            if job["status"] in ("succeeded", "failed") or time.monotonic() - started > MAX_SECONDS:
                break
            time.sleep(0.25)
        seconds = time.monotonic() - started
    assert job["status"] == "succeeded", job
    rows = job["rows_processed"]
    load = os.getloadavg()[0]
    return (f"| {label} | {rows:,} | {job['rows_created']:,} | {job['rows_updated']:,} | "
            f"{uploaded:.1f} | {seconds:.1f} | {rows / seconds:,.0f} | "
            f"{cpu_seconds(pid) - cpu:.1f} | {idle:.0f} | {max(rss):.0f} | "
            f"{max(rss) - idle:+.0f} | {load:.2f} |")  # fmt: skip


def prepare(sqlite: bool, workdir: Path) -> dict[str, str]:
    if sqlite:
        env = harness.base_env(None, workdir / "data")
        harness.backroom(env, "migrate")
        with sqlite3.connect(workdir / "data" / "backroom.sqlite3") as db:
            db.execute(CATEGORIES)
        return env
    asyncio.run(_pg(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
    asyncio.run(_pg(f"CREATE DATABASE {PG_DB}"))
    env = harness.base_env(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DB}",
                           workdir / "data")  # fmt: skip
    harness.backroom(env, "migrate")
    asyncio.run(_pg(CATEGORIES, f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"))
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--once", action="store_true", help="skip the unchanged re-import")
    parser.add_argument("--batch-rows", type=int, help="BACKROOM_IMPORT_BATCH_ROWS")
    parser.add_argument("--commit-rows", type=int, help="BACKROOM_IMPORT_SQLITE_COMMIT_ROWS")
    parser.add_argument("--profile", type=Path, help="py-spy flame graph of the first import")
    parser.add_argument("--csv", type=Path, help="the CSV to write, or to reuse if it exists")
    args = parser.parse_args()
    workdir = harness.tempdir()
    csv_path = args.csv or workdir / "products.csv"
    size = csv_path.stat().st_size if csv_path.exists() else write_csv(csv_path, args.rows)
    print(f"wrote {args.rows:,} rows, {size / 1e6:.0f} MB", file=sys.stderr)
    env = prepare(args.sqlite, workdir)
    if args.batch_rows:
        env["BACKROOM_IMPORT_BATCH_ROWS"] = str(args.batch_rows)
    if args.commit_rows:
        env["BACKROOM_IMPORT_SQLITE_COMMIT_ROWS"] = str(args.commit_rows)
    lines = []
    try:
        harness.backroom(env, "create-user", "--email", STAFF_EMAIL,
                         "--password", STAFF_PASSWORD, "--role", "staff")  # fmt: skip
        with harness.server(env, 1) as (url, process):
            token = harness.sign_in(url, STAFF_EMAIL, STAFF_PASSWORD)
            lines.append(run_import(url, token, csv_path, process.pid, "new products",
                                    args.profile and args.profile.resolve()))  # fmt: skip
            if not args.once:
                lines.append(run_import(url, token, csv_path, process.pid, "same file again"))
    finally:
        if not args.sqlite:
            asyncio.run(_pg(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
    database = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"Machine: {harness.machine()}; {database}; {args.rows:,} rows, {size / 1e6:.0f} MB; "
          "one server process running the job; curl on loopback\n")  # fmt: skip
    print("| run | rows | created | updated | upload s | total s | rows/s | server CPU s "
          "| RSS idle MB | RSS peak MB | growth MB | load avg |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
