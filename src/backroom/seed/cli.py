"""``backroom seed``: a Rich progress bar per phase, then a summary table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from backroom.config import Settings
    from backroom.seed.plan import Plan
    from backroom.seed.service import Summary

console = Console(stderr=True)


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


class _Bars:
    """The service's Reporter: one Rich task per phase."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None
        self.unsized = False

    def start(self, phase: str, total: int) -> None:
        if self.task is not None:  # the previous phase is over: stop its clock
            if self.unsized:
                self.progress.update(self.task, total=1, completed=1)
            self.progress.stop_task(self.task)
        self.task = self.progress.add_task(phase, total=total or None)
        self.unsized = not total

    def advance(self, units: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, units)


def seed(
    products: Annotated[int, typer.Option(min=0, help="Products to create.")] = 1_000,
    customers: Annotated[int, typer.Option(min=0, help="Customers to create.")] = 1_000,
    orders: Annotated[int, typer.Option(min=0, help="Orders to create (~3 lines each).")] = 10_000,
    seed_value: Annotated[
        int, typer.Option("--seed", min=0, help="Same seed, same data. One run per seed per DB.")
    ] = 1,
    now: Annotated[
        datetime | None,
        typer.Option(help="Pin the clock (UTC) for identical runs; default: the current time."),
    ] = None,
) -> None:
    """Generate reproducible demo data: categories, products with stock, customers, orders."""
    from backroom.cli import _settings
    from backroom.migrations_support import upgrade
    from backroom.seed.plan import Plan
    from backroom.seed.service import AlreadySeeded, check

    settings = _settings()
    moment = None if now is None else now.replace(tzinfo=now.tzinfo or UTC)
    plan = Plan.build(settings, seed=seed_value, products=products, customers=customers,
                      orders=orders, now=moment)  # fmt: skip
    try:
        check(plan)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    upgrade(settings.resolved_database_url)
    try:
        summary = asyncio.run(_run(settings, plan))
    except AlreadySeeded as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    _print_summary(summary)


async def _run(settings: Settings, plan: Plan) -> Summary:
    from backroom.db import create_engine
    from backroom.seed.service import seed as write

    engine = create_engine(settings)
    columns = (
        TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), _Rate(),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )  # fmt: skip
    try:
        with Progress(*columns, console=console) as progress:
            return await write(engine=engine, plan=plan, report=_Bars(progress))
    finally:
        await engine.dispose()


def _print_summary(summary: Summary) -> None:
    phases = Table(title=f"backroom seed --seed {summary.seed} (tag {summary.tag})")
    for column in ("phase", "made", "seconds", "per second"):
        phases.add_column(column, justify="left" if column == "phase" else "right")
    for name, units, seconds in summary.phases:
        rate = f"{units / seconds:,.0f}" if units and seconds else ""
        phases.add_row(name, f"{units:,}" if units else "", f"{seconds:.1f}", rate)
    total = sum(seconds for _, _, seconds in summary.phases)
    phases.add_row("[bold]total[/bold]", "", f"[bold]{total:.1f}[/bold]", "")
    tables = Table(title="rows written")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, count in summary.rows.items():
        tables.add_row(name, f"{count:,}")
    tables.add_row("[bold]total[/bold]", f"[bold]{sum(summary.rows.values()):,}[/bold]")
    console.print(phases)
    console.print(tables)
