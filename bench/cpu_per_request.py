"""CPU per request, app and PostgreSQL, backroom next to the bare baseline.

Usage: python bench/cpu_per_request.py [--products 20000] [--seconds 8]
Seeds a scratch database, then for the baseline and for `backroom serve --workers 2`
(cache off) runs wrk -c64 on product by id (random ids) and on the first page, and
divides the CPU time the app's workers and PostgreSQL's processes used
(/proc/<pid>/stat) by the requests served. CPU per request is far steadier than
requests/s on a shared machine: it tells where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import harness
import seed_catalog

from catalog import baseline

DB = "backroom_bench_cpu"
DSN = f"postgresql://postgres@127.0.0.1:5432/{DB}"
HZ = os.sysconf("SC_CLK_TCK")


def _cpu(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / HZ


def _pids(pattern: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _measure(url: str, app_pids: Callable[[], list[int]], script: str, secs: int) -> str:
    rows = []
    for name, target, lua in (("by id", url + "/", script),
                              ("first page", url + "/api/v1/products?limit=20", None)):  # fmt: skip
        harness.wrk(target, seconds=2, script=lua)
        app, pg = app_pids(), _pids("postgres")
        a, b = _cpu(app), _cpu(pg)
        result = harness.wrk(target, seconds=secs, script=lua)
        n = result.requests
        app_us, pg_us = (_cpu(app) - a) / n * 1e6, (_cpu(pg) - b) / n * 1e6
        rows.append(f"{name}: {result.requests_per_second:,.0f} req/s, "
                    f"app {app_us:.0f} µs, PostgreSQL {pg_us:.0f} µs")  # fmt: skip
    return "; ".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    harness.recreate_database(DB)
    try:
        env = harness.base_env(DSN.replace("postgresql://", "postgresql+asyncpg://"),
                               harness.tempdir(), BACKROOM_CACHE="off")  # fmt: skip
        harness.backroom(env, "migrate")
        asyncio.run(seed_catalog.postgres(DSN, args.products))
        query = "SELECT id FROM product WHERE is_active LIMIT 5000"
        ids = subprocess.run(["psql", "-At", DSN, "-c", query],
                             capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
        script = str(harness.tempdir() / "ids.lua")
        Path(script).write_text(
            "local ids = {" + ",".join(f'"{i}"' for i in ids) + "}\nrequest = function()\n"
            '  return wrk.format("GET", "/api/v1/products/" .. ids[math.random(#ids)])\nend\n'
        )
        with baseline(DSN, 2) as url:
            print("baseline:", _measure(url, lambda: _pids("baseline:app"), script, args.seconds))
        with harness.server(env, 2) as (url, process):
            workers = harness.worker_pids(process, 2)
            print("backroom:", _measure(url, lambda: workers, script, args.seconds))
    finally:
        harness.drop_database(DB)


if __name__ == "__main__":
    main()
