"""Benchmark: GET /users/me with a valid token, 1 and 2 workers, SQLite and PostgreSQL.

Usage: python bench/users_me.py [--seconds 10] [--postgres postgresql+asyncpg://...]
Prints a Markdown table for docs/performance.md. /healthz (the framework floor)
is measured side by side in the same run, so the ratio is comparable across runs.
"""

from __future__ import annotations

import argparse
import asyncio

import asyncpg
import harness

EMAIL, PASSWORD = "bench@example.com", "bench-password-long-1"


async def _recreate(url: str) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    base, name = dsn.rsplit("/", 1)
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def run(label: str, database_url: str | None, seconds: int) -> list[str]:
    rows = []
    workdir = harness.tempdir()
    if database_url:
        asyncio.run(_recreate(database_url))
    env = harness.base_env(database_url, workdir / "data")
    harness.backroom(env, "migrate")
    harness.backroom(env, "create-user", "--email", EMAIL, "--password", PASSWORD)
    for workers in (1, 2):
        with harness.server(env, workers) as (url, process):
            idle = max(harness.rss_mb(p) for p in harness.worker_pids(process, workers))
            token = harness.sign_in(url, EMAIL, PASSWORD)
            auth = {"Authorization": f"Bearer {token}"}
            harness.wrk(f"{url}/api/v1/users/me", seconds=2, headers=auth)  # warm-up
            floor = harness.wrk(f"{url}/healthz", seconds=seconds)
            me = harness.wrk(f"{url}/api/v1/users/me", seconds=seconds, headers=auth)
            after = max(harness.rss_mb(p) for p in harness.worker_pids(process, workers))
        rows.append(
            f"| {label} | {workers} | {me.requests_per_second:,.0f} | {me.p50_ms:.1f} | "
            f"{me.p99_ms:.1f} | {me.errors} | {floor.requests_per_second:,.0f} | "
            f"{me.requests_per_second / floor.requests_per_second:.2f} | {idle:.0f} | {after:.0f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/backroom_bench"
    )
    args = parser.parse_args()
    print(f"Machine: {harness.machine()}; wrk -t1 -c64 -d{args.seconds}s on loopback\n")
    print(
        "| database | workers | /users/me req/s | p50 ms | p99 ms | errors "
        "| /healthz req/s | ratio to /healthz | idle RSS MB (per worker) | RSS after MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in run("SQLite", None, args.seconds) + run("PostgreSQL", args.postgres, args.seconds):
        print(row, flush=True)


if __name__ == "__main__":
    main()
