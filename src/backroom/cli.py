"""The ``backroom`` command: serve, migrate, create-user, bootstrap."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
import tempfile
import uuid
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from backroom.config import ConfigError, Settings
from backroom.exports.cli import export_app
from backroom.imports.cli import import_app
from backroom.reports.cli import reports_app
from backroom.seed.cli import seed

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

app = typer.Typer(help="backroom: a headless commerce backend.", no_args_is_help=True)
console = Console(stderr=True)


def _settings() -> Settings:
    try:
        settings = Settings()
        settings.signing_key  # noqa: B018 - surface a bad key here, not at the first request
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    return settings


@app.command()
def migrate() -> None:
    """Apply pending database migrations (Alembic)."""
    from backroom.migrations_support import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    console.print("[green]database is up to date[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Apply migrations, then serve HTTP (N > 1: gunicorn with N uvicorn workers)."""
    from backroom.server import exec_server

    settings = _settings()
    if migrate_first:
        from backroom.migrations_support import upgrade

        upgrade(settings.resolved_database_url)
    os.environ["BACKROOM_WORKERS"] = str(workers)
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="backroom-metrics-")
    exec_server(
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        shutdown_timeout=settings.shutdown_timeout_seconds,
    )


@app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option(help="Email address (case-insensitive, unique).")],
    role: Annotated[str, typer.Option(help="customer, staff or admin.")] = "customer",
    password: Annotated[
        str | None, typer.Option(help="Password; prompted for when omitted.")
    ] = None,
    full_name: Annotated[str, typer.Option(help="Display name.")] = "",
) -> None:
    """Create a user; exits 1 if the email is already registered."""
    from backroom.errors import AppError
    from backroom.users.models import Role

    if role not in {r.value for r in Role}:
        console.print("[red]--role must be customer, staff or admin[/red]")
        raise typer.Exit(2)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()
    try:
        asyncio.run(_create_user(settings, email, password, Role(role), full_name or email))
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    console.print(f"[green]created {role} {email}[/green]")


async def _create_user(
    settings: Settings, email: str, password: str, role: object, name: str
) -> None:
    from backroom.db import create_engine, create_sessionmaker
    from backroom.users import service
    from backroom.users.models import Role

    assert isinstance(role, Role)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            await service.create(
                session=session,
                email=email,
                password=password,
                full_name=name,
                role=role,
                min_password_length=settings.password_min_length,
            )
    finally:
        await engine.dispose()


@app.command()
def bootstrap(
    admin_email: Annotated[
        str, typer.Option(help="Email of the first admin.")
    ] = "admin@example.com",
) -> None:
    """Migrate and, if no admin exists yet, create one with a random password printed once."""
    from backroom.migrations_support import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    password = secrets.token_urlsafe(18)
    created, demo_products = asyncio.run(_bootstrap(settings, admin_email, password))
    if demo_products:
        console.print(f"Seeded a demo catalog of {demo_products} products.")
    if created:
        console.print(
            "[bold green]Created the first admin.[/bold green] Sign in with\n"
            f"  email:    {admin_email}\n  password: {password}\n"
            "This password is shown only once."
        )
    else:
        console.print("An admin already exists; no account created.")


async def _bootstrap(settings: Settings, email: str, password: str) -> tuple[bool, int]:
    """The first admin (if none exists) and the demo catalog (if the catalog is empty)."""
    from backroom.catalog.demo import seed_if_empty
    from backroom.db import create_engine, create_sessionmaker

    created = await _bootstrap_admin(settings, email, password)
    engine = create_engine(settings)
    try:
        admin_id = await _admin_id(settings, engine)
        products = await seed_if_empty(create_sessionmaker(engine), admin_id, settings.currency)
    finally:
        await engine.dispose()
    return created, products


async def _admin_id(settings: Settings, engine: AsyncEngine) -> uuid.UUID:
    from sqlalchemy import select

    from backroom.users.models import Role, User

    async with engine.connect() as conn:
        stmt = select(User.id).where(User.role == Role.ADMIN).order_by(User.created_at).limit(1)
        admin_id = await conn.scalar(stmt)
    if admin_id is None:  # bootstrap always makes one first
        raise RuntimeError("no admin account")
    return admin_id


async def _bootstrap_admin(settings: Settings, email: str, password: str) -> bool:
    from sqlalchemy import select

    from backroom.db import create_engine, create_sessionmaker
    from backroom.users import service
    from backroom.users.models import Role, User

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            exists = await session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1))
            if exists is not None:
                return False
            await session.rollback()  # the write below must begin its own transaction
            await service.create(
                session=session,
                email=email,
                password=password,
                full_name="Administrator",
                role=Role.ADMIN,
                min_password_length=settings.password_min_length,
            )
            return True
    finally:
        await engine.dispose()


app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")
app.add_typer(reports_app, name="reports")


@app.command()
def worker() -> None:
    """Run background jobs and the scheduler in this process (with Redis: any number
    of workers share the queue; without: they pick jobs from the database)."""
    from backroom.jobs.worker import run_worker_bounded

    async def run() -> None:
        if not await run_worker_bounded(_settings()):
            # A task ignored cancellation (logged): its cleanup can't finish and the
            # leases were already handed back, so leave now; asyncio.run's teardown
            # would wait for that task forever.
            logging.shutdown()
            os._exit(0)

    asyncio.run(run())


app.command("seed")(seed)


def main() -> None:  # pragma: no cover - console entry
    sys.exit(app())
