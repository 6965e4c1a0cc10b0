from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI

from backroom.events import outbox


async def events(
    app: FastAPI, after: int = 0, types: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every committed event after ``after``, as consumers see it (the webhook body)."""
    seen: list[dict[str, Any]] = []
    async with app.state.ctx.sessionmaker() as session:
        while batch := await outbox.read_after(session, after, limit=500, types=types):
            seen += [orjson.loads(outbox.body(e)) for e in batch]
            after = batch[-1].id
    return seen


async def types_of(app: FastAPI, after: int = 0) -> list[str]:
    return [e["type"] for e in await events(app, after)]


async def last_id(app: FastAPI) -> int:
    async with app.state.ctx.sessionmaker() as session:
        return await outbox.last_id(session)
