"""Readiness checks, each bounded in time: a dead dependency gives 'unavailable', not a hang."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from backroom.context import AppContext

_TIMEOUT = 1.5


async def _database(ctx: AppContext) -> str:
    async with ctx.engine.connect() as conn:
        if ctx.migration_head is None:
            await conn.execute(text("SELECT 1"))
            return "ok"
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    return "ok" if version == ctx.migration_head else "migrations behind"


async def _redis(ctx: AppContext) -> str:
    assert ctx.redis is not None
    await ctx.redis.ping()
    return "ok"


async def _bounded(name: str, probe: asyncio.Future[str] | asyncio.Task[str]) -> tuple[str, str]:
    try:
        return name, await asyncio.wait_for(probe, _TIMEOUT)
    except TimeoutError:
        return name, "timeout"
    except Exception:
        return name, "unreachable"


async def check(ctx: AppContext) -> dict[str, str]:
    probes = [_bounded("database", asyncio.ensure_future(_database(ctx)))]
    if ctx.redis is not None:
        probes.append(_bounded("redis", asyncio.ensure_future(_redis(ctx))))
    return dict(await asyncio.gather(*probes))
