"""``backroom import products FILE``: the same job as the HTTP import, run here,
with a progress bar (rows, rate, ETA by bytes read) and a summary at the end."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

if TYPE_CHECKING:
    from backroom.config import Settings
    from backroom.jobs.models import Job

import_app = typer.Typer(help="Bulk imports from a file (CSV or NDJSON).", no_args_is_help=True)
_BY_SUFFIX = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


@import_app.command("products")
def products(
    file: Annotated[Path, typer.Argument(help="A CSV (with header) or NDJSON file.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or ndjson; by default from the extension.")
    ] = None,
) -> None:
    """Upsert products by SKU; stock changes go to the ledger; bad rows are reported."""
    from backroom.cli import _settings, console

    fmt = fmt or _BY_SUFFIX.get(file.suffix.lower(), "csv")
    if fmt not in ("csv", "ndjson"):
        console.print("[red]error:[/red] --format must be csv or ndjson")
        raise typer.Exit(2)
    if not file.is_file():
        console.print(f"[red]error:[/red] no such file: {file}")
        raise typer.Exit(1)
    settings = _settings()
    started = time.perf_counter()
    job = asyncio.run(_run(settings, file.resolve(), fmt))
    _summary(job, time.perf_counter() - started)
    if job.status != "succeeded":
        raise typer.Exit(1)


async def _run(settings: Settings, path: Path, fmt: str) -> Job:
    from backroom.catalog.cache import NoCache, ProductCache, RedisCache
    from backroom.db import begin_write, create_engine, create_sessionmaker
    from backroom.imports.runner import KIND, run_import
    from backroom.jobs import service as jobs
    from backroom.jobs.runtime import JobRuntime
    from backroom.redis_client import create_redis

    engine = create_engine(settings)
    redis = create_redis(settings.redis_url) if settings.redis_url else None
    cache: ProductCache = RedisCache(redis) if redis and settings.cache_enabled else NoCache()
    runtime = JobRuntime(settings, engine, create_sessionmaker(engine), cache)
    size = max(1, (await asyncio.to_thread(path.stat)).st_size)
    try:
        with _progress() as bar:
            task = bar.add_task("import", total=size, rows=0)
            async with runtime.sessionmaker() as session:
                params = {"path": str(path), "format": fmt, "owned": False}
                job = jobs.new_job(kind=KIND, created_by=None, params=params)
                job_id: uuid.UUID = job.id
                await begin_write(session)
                session.add(job)
                await session.commit()
                lease = await jobs.claim(session, job_id, runtime.lease)
            assert lease is not None

            def progress(current: Job) -> None:
                done = (current.checkpoint or {}).get("offset", 0)
                bar.update(task, completed=done, rows=current.rows_processed)

            await run_import(runtime, lease, progress)
            bar.update(task, completed=size)
        async with runtime.sessionmaker() as session:
            return await jobs.get(session, job_id, KIND)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


def _progress() -> Progress:
    from backroom.cli import console

    return Progress(
        TextColumn("[bold]importing"), BarColumn(), TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), console=console,
    )  # fmt: skip


def _summary(job: Job, seconds: float) -> None:
    from backroom.cli import console

    table = Table(title="import", show_header=False)
    table.add_row("job", str(job.id))
    rate = job.rows_processed / seconds if seconds else 0.0
    for label, value in (
        ("status", job.status), ("rows processed", f"{job.rows_processed:,}"),
        ("created", f"{job.rows_created:,}"), ("updated", f"{job.rows_updated:,}"),
        ("failed", f"{job.rows_failed:,}"), ("time", f"{seconds:.1f} s"),
        ("rate", f"{rate:,.0f} rows/s"),
    ):  # fmt: skip
        table.add_row(label, value)
    if job.error:
        table.add_row("reason", job.error)
    console.print(table)
    if job.rows_failed:
        console.print("[yellow]bad rows (first 20; GET /api/v1/imports/{id} lists up to 1,000):")
        asyncio.run(_print_errors(job))


async def _print_errors(job: Job) -> None:
    from backroom.cli import _settings, console
    from backroom.db import create_engine, create_sessionmaker
    from backroom.jobs import service as jobs

    engine = create_engine(_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            for error in (await jobs.errors_of(session, job.id))[:20]:
                console.print(f"  row {error.row}: {error.field or '-'}: {error.message}")
    finally:
        await engine.dispose()
