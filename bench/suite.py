"""The whole benchmark suite in one command (issue 10): `make bench` / `make bench-sqlite`.

    flock /tmp/backroom-bench.lock python bench/suite.py [--sqlite] [--seconds 10] [--soak 300]

Seeds a fresh database with `backroom seed` (100,000 products, 2,000 customers,
100,000 orders, seed 7), then measures each scenario with wrk on loopback against
`backroom serve --workers 2` (SQLite: the embedded mode, one process), next to the
bare baseline app in `bench/baseline.py` (raw asyncpg + a minimal ASGI app; on
SQLite, `/healthz` is the reference instead). Scenarios: product by id (cache on and
off), the first product page and one 2,000 pages deep, a search, a cart update, a
checkout, the daily sales report for a year, `/healthz` (the framework floor). After
them, the workers' RSS; with --soak, the read and checkout scenarios alternate for
that many seconds and RSS is sampled after each round (it must plateau).

Writes the tables into docs/performance.md between the `make bench` markers and
prints them. Every run is bounded in time; nothing listens beyond loopback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import harness
import suite_data
from harness import WrkResult
from suite_data import Setup

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
REDIS = "redis://127.0.0.1:6379/13"
# (scenario, its result, what its ratio is to: the baseline, /healthz or nothing)
Measured = tuple[str, WrkResult, WrkResult | None]


def _fmt(name: str, result: WrkResult, reference: WrkResult | None) -> str:
    ratio = (
        f"{result.requests_per_second / reference.requests_per_second:.2f}" if reference else "—"
    )
    return (f"| {name} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.errors} | {ratio} |")  # fmt: skip


def _baseline_rows(setup: Setup, seconds: int) -> dict[str, WrkResult]:
    """The bare app, same queries, same JSON (PostgreSQL only)."""
    from catalog import baseline

    with baseline(setup.dsn, 2) as url:
        harness.wrk(url + "/", seconds=2, script=setup.ids_script)
        after = f"?after_at={setup.deep[0].replace('+', '%2B')}&after_id={setup.deep[1]}"
        return {
            "by id": _steady(url + "/", seconds, script=setup.ids_script),
            "page": _steady(url + "/api/v1/products", seconds),
            "deep": _steady(url + "/api/v1/products" + after, seconds),
        }


def _reads(url: str, setup: Setup, seconds: int) -> list[tuple[str, WrkResult, str]]:
    """(name, result, which reference) for the cache-off read scenarios."""
    page, staff = url + "/api/v1/products?limit=20", {"Authorization": f"Bearer {setup.staff}"}
    return [
        ("product by id, cache off", _steady(url + "/", seconds, script=setup.ids_script),
         "by id"),
        ("first page (20)", _steady(page, seconds), "page"),
        ("page 2,000 deep", _steady(f"{page}&cursor={setup.cursor}", seconds), "deep"),
        ("search q=wool", _steady(page + "&q=wool", seconds), "page"),
        ("sales report, daily, one year", _steady(
            url + f"/api/v1/reports/sales?{setup.year}&granularity=day", seconds,
            connections=8, headers=staff), "floor"),
    ]  # fmt: skip


def _steady(url: str, seconds: int, **options: Any) -> WrkResult:
    """wrk after a 2 s warm-up of the same requests: the pools open their connections
    lazily, and a scenario that needs more of them than the one before would
    otherwise count their start-up (seen as p99s of 200-370 ms on the first page)."""
    harness.wrk(url, seconds=2, **options)
    return harness.wrk(url, seconds=seconds, **options)


def _writes(url: str, setup: Setup, seconds: int) -> list[tuple[str, WrkResult, str]]:
    """Cart updates and checkouts (once: they change the data)."""
    cart = harness.wrk(url, seconds=seconds, connections=32, script=setup.cart_script)
    harness.wrk(url, seconds=2, connections=32, script=setup.checkout_script)
    checkout = harness.wrk(url, seconds=seconds, connections=32, script=setup.checkout_script)
    return [("cart update (PUT /cart/items)", cart, "floor"),
            ("checkout (POST /orders)", checkout, "floor")]  # fmt: skip


def _soak(url: str, setup: Setup, pids: list[int], seconds: int) -> list[str]:
    samples = [f"{sum(harness.rss_mb(p) for p in pids):.0f}"]
    rounds = max(1, seconds // 30)
    for n in range(rounds):
        script = setup.ids_script if n % 2 == 0 else setup.checkout_script
        harness.wrk(url if n % 2 else url + "/", seconds=30, connections=32, script=script)
        samples.append(f"{sum(harness.rss_mb(p) for p in pids):.0f}")
    return samples


def _round(
    setup: Setup, args: argparse.Namespace, env_on: dict[str, str], workers: int
) -> list[Measured]:
    """One pass over the read scenarios: the baseline, then backroom, back to back,
    so each ratio compares two measurements taken a minute apart, not ten."""
    s = args.seconds
    base = {} if args.sqlite else _baseline_rows(setup, s)
    with harness.server(env_on, workers) as (url, _):
        floor = harness.wrk(url + "/healthz", seconds=s)
        harness.wrk(url + "/", seconds=2, script=setup.ids_script)
        cached = harness.wrk(url + "/", seconds=s, script=setup.ids_script)
    refs = {**base, "floor": floor}
    with harness.server({**env_on, "BACKROOM_CACHE": "off"}, workers) as (url, _):
        reads = _reads(url, setup, s)
    return [
        ("/healthz (framework floor)", floor, None),
        ("product by id, cache on", cached, refs.get("by id", floor)),
        *((name, result, refs.get(ref, floor)) for name, result, ref in reads),
        *((f"baseline: {k}", v, None) for k, v in base.items()),
    ]


def _median_rows(rounds: list[list[Measured]]) -> list[str]:
    """Per scenario, the round whose ratio is the median (its req/s and latencies),
    and the range of the ratios over the rounds."""
    rows = []
    for i, (name, _, reference) in enumerate(rounds[0]):
        runs = sorted((r[i] for r in rounds), key=_ratio)
        _, result, ref = runs[len(runs) // 2]
        row = _fmt(name, result, ref)
        if reference is not None and len(runs) > 1:
            low, high = _ratio(runs[0]), _ratio(runs[-1])
            row = row[: row.rindex("|")].rstrip() + f" ({low:.2f}–{high:.2f}) |"
        rows.append(row)
    return rows


def _ratio(measured: Measured) -> float:
    _, result, reference = measured
    return result.requests_per_second / reference.requests_per_second if reference else 0.0


def run(args: argparse.Namespace) -> str:
    setup = suite_data.prepare(sqlite=args.sqlite, redis=REDIS, quick=args.quick)
    workers = 1 if args.sqlite else 2
    env_on = setup.env if args.sqlite else {**setup.env, "BACKROOM_REDIS_URL": REDIS}
    rounds = [_round(setup, args, env_on, workers) for _ in range(args.rounds)]
    floor = rounds[-1][0][1]
    # Writes change the data, so they run once, after the reads, with the cache off.
    with harness.server({**env_on, "BACKROOM_CACHE": "off"}, workers) as (url, process):
        pids = harness.worker_pids(process, workers)
        writes = _writes(url, setup, args.seconds)
        rss = [harness.rss_mb(p) for p in pids]
        soak = _soak(url, setup, pids, args.soak) if args.soak else []
    rows = _median_rows(rounds)
    baseline = [row for row in rows if row.startswith("| baseline:")]
    rows = [row for row in rows if row not in baseline]
    rows += [_fmt(name, result, floor) for name, result, _ in writes] + baseline
    return _document(args, setup, rows, rss, soak)


def _document(
    args: argparse.Namespace, setup: Setup, rows: list[str], rss: list[float], soak: list[str]
) -> str:
    where = "SQLite, `backroom serve` (one process)" if args.sqlite else (
        "PostgreSQL + Redis, `backroom serve --workers 2`")  # fmt: skip
    reference = "`/healthz`" if args.sqlite else "the bare baseline (`bench/baseline.py`)"
    lines = [
        f"Machine: {harness.machine()}; {where}; {setup.summary}; wrk -t1 -c64 "
        f"-d{args.seconds}s (cart and checkout -c32, the report -c8) on loopback; "
        f"ratio to {reference} in the same run (writes and the report: to `/healthz`); "
        f"{args.rounds} round(s) of the reads, each baseline then backroom: the round with "
        "the median ratio, and the range of the ratios in brackets.",
        "",
        "| scenario | req/s | p50 ms | p99 ms | errors | ratio |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Workers' RSS after the scenarios: {', '.join(f'{r:.0f}' for r in rss)} MB.",
    ]
    if soak:
        lines.append(f"Soak ({args.soak} s, reads and checkouts alternating in 30 s rounds), "
                     f"total RSS MB after each round: {' → '.join(soak)}.")  # fmt: skip
    return "\n".join(lines)


def _write(text: str, sqlite: bool) -> None:
    tag = "sqlite" if sqlite else "postgresql"
    start, end = f"<!-- make bench {tag}: start -->", f"<!-- make bench {tag}: end -->"
    doc = DOC.read_text()
    if start not in doc:
        doc += f"\n{start}\n{end}\n"
    head, rest = doc.split(start, 1)
    DOC.write_text(f"{head}{start}\n{text}\n{end}{rest.split(end, 1)[1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--soak", type=int, default=0, help="seconds of memory soak (e.g. 300)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the read scenarios")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--quick", action="store_true", help="small data, print only (a smoke run)")
    args = parser.parse_args()
    try:
        text = run(args)
    finally:
        if not args.sqlite:
            suite_data.drop()
    print(text)
    if not (args.no_write or args.quick):
        _write(text, args.sqlite)
        print(f"\nwritten to {DOC.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
