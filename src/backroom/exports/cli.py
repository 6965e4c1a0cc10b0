"""``backroom export products FILE``: the HTTP export's bytes, written to a file."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from backroom.exports import Format

if TYPE_CHECKING:
    from backroom.config import Settings

export_app = typer.Typer(help="Bulk exports to a file (CSV or NDJSON).", no_args_is_help=True)

_BY_SUFFIX = {".csv": Format.CSV, ".ndjson": Format.NDJSON, ".jsonl": Format.NDJSON}


@dataclass(frozen=True, slots=True)
class Summary:
    rows: int
    bytes: int
    seconds: float


@export_app.command("products")
def products(
    file: Annotated[Path, typer.Argument(help="Where to write; an existing file is replaced.")],
    fmt: Annotated[
        Format | None,
        typer.Option("--format", help="csv or ndjson; by default from FILE's extension."),
    ] = None,
) -> None:
    """Write every live product, by SKU, in the format the importer reads."""
    from backroom.cli import _settings, console

    fmt = fmt or _BY_SUFFIX.get(file.suffix.lower())
    if fmt is None:
        console.print(f"[red]error:[/red] can't tell the format of {file.name}; pass --format")
        raise typer.Exit(2)
    if not file.parent.is_dir():
        console.print(f"[red]error:[/red] no such directory: {file.parent}")
        raise typer.Exit(1)
    settings = _settings()
    try:
        summary = asyncio.run(_export(settings, file, fmt))
    except Exception as exc:  # any failure: say what and where, exit non-zero
        console.print(f"[red]export failed:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    _print_summary(file, fmt, summary)


async def _export(settings: Settings, file: Path, fmt: Format) -> Summary:
    """Stream into ``FILE.part`` and rename at the end: a failed export never leaves a
    file that looks complete."""
    from backroom.db import autocommit, create_engine
    from backroom.exports import service

    engine = autocommit(create_engine(settings), settings)
    partial = file.with_name(file.name + ".part")
    started = time.monotonic()
    rows = written = 0
    try:
        total = await service.count_products(engine)
        with _progress() as progress, partial.open("wb") as out:
            task = progress.add_task("products", total=total)
            async for chunk in service.products(engine, fmt):
                out.write(chunk.data)
                rows, written = rows + chunk.rows, written + len(chunk.data)
                progress.update(task, completed=rows)
        os.replace(partial, file)
    finally:
        partial.unlink(missing_ok=True)
        await engine.dispose()
    return Summary(rows, written, time.monotonic() - started)


class RowRate(ProgressColumn):
    """Rich's own speed column counts bytes; this one counts rows."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:,.0f} rows/s", style="progress.data.speed")


def _progress() -> Progress:
    from backroom.cli import console

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), RowRate(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console,
    )  # fmt: skip


def _print_summary(file: Path, fmt: Format, summary: Summary) -> None:
    from backroom.cli import console

    table = Table(title="Export finished", show_header=False)
    rate = summary.rows / summary.seconds if summary.seconds > 0 else 0.0
    for name, value in (
        ("file", str(file)),
        ("format", fmt.value),
        ("products", f"{summary.rows:,}"),
        ("bytes", f"{summary.bytes:,}"),
        ("seconds", f"{summary.seconds:.1f}"),
        ("rows/s", f"{rate:,.0f}"),
    ):
        table.add_row(name, value)
    console.print(table)
