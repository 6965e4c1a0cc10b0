"""``backroom reports rebuild``: recompute the sales rollup from the orders."""

from __future__ import annotations

import asyncio
import time

import typer
from rich.table import Table

reports_app = typer.Typer(help="The reports' sales rollup.", no_args_is_help=True)


@reports_app.command("rebuild")
def rebuild() -> None:
    """Recompute the daily and monthly sales rollup from the orders, in one transaction.

    For recovery (after restoring a backup, or editing orders by hand in SQL): the order
    transitions keep the rollup in step on their own. Payments made meanwhile wait."""
    from backroom.cli import _settings, console
    from backroom.db import create_engine
    from backroom.migrations_support import upgrade
    from backroom.reports.rollup import rebuild_all

    settings = _settings()
    upgrade(settings.resolved_database_url)

    async def run() -> dict[str, int]:
        engine = create_engine(settings)
        try:
            return await rebuild_all(engine)
        finally:
            await engine.dispose()

    started = time.perf_counter()
    with console.status("rebuilding the sales rollup from the orders…"):
        written = asyncio.run(run())
    table = Table(title=f"sales rollup rebuilt in {time.perf_counter() - started:.1f} s")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in written.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
