"""Product reads by id, coalesced: the by-id reads of every request
that asks within the same turn of the event loop run as one
``WHERE id = ANY($1)`` query (aiodataloader's DataLoader, without its memo).

Under load that is one round trip and one statement for dozens of requests (on
SQLite, one hop to aiosqlite's thread and an ``IN`` list); a read alone waits one
loop turn. Each read still sees what had committed before its request arrived:
the query runs after every request in the batch came in.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from aiodataloader import DataLoader
from sqlalchemy import any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool
from sqlalchemy.types import Uuid

from backroom.catalog.documents import PRODUCT_COLUMNS
from backroom.catalog.models import Product
from backroom.db import Prepared

Row = Mapping[Any, Any]

_BY_IDS = Prepared(
    select(*PRODUCT_COLUMNS).where(
        Product.id == any_(bindparam("ids", type_=ARRAY(Uuid()))), Product.deleted_at.is_(None)
    )
)
# SQLite has no arrays: an IN list, expanded per batch by SQLAlchemy.
_BY_IDS_SQLITE = Prepared(
    select(*PRODUCT_COLUMNS).where(
        Product.id.in_(bindparam("ids", expanding=True)), Product.deleted_at.is_(None)
    )
)

# One loader per engine (pool) and event loop: tests run several apps, and loops.
_LOADERS: weakref.WeakKeyDictionary[
    Pool, tuple[asyncio.AbstractEventLoop, DataLoader[uuid.UUID, Row | None]]
] = weakref.WeakKeyDictionary()


def _loader(engine: AsyncEngine) -> DataLoader[uuid.UUID, Row | None]:
    loop = asyncio.get_running_loop()
    pool = engine.sync_engine.pool
    held = _LOADERS.get(pool)
    if held is None or held[0] is not loop:

        async def load(ids: list[uuid.UUID]) -> list[Row | None]:
            statement = _BY_IDS if engine.dialect.name == "postgresql" else _BY_IDS_SQLITE
            rows = await statement.all(engine, {"ids": list(set(ids))})
            found = {row["id"]: row for row in rows}
            return [found.get(i) for i in ids]

        held = (loop, DataLoader(load, max_batch_size=200, cache=False, loop=loop))
        _LOADERS[pool] = held
    return held[1]


async def product_row(engine: AsyncEngine, product_id: uuid.UUID) -> Row | None:
    """The live (not deleted) product's row, or None."""
    return await _loader(engine).load(product_id)
