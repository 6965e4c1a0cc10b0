"""The bare baseline for catalog benchmarks: raw asyncpg and a minimal ASGI app that
answers the same URLs with the same JSON for the same queries as backroom, with
none of its conventions (no auth, limits, ETags, logging or metrics).

Run: DATABASE_URL=postgresql://... gunicorn -k uvicorn_worker.UvicornWorker -w 2 bench.baseline:app
"""

from __future__ import annotations

import os
import uuid
from typing import Any
from urllib.parse import unquote

import asyncpg
import orjson

_COLUMNS = (
    "id, sku, slug, name, description, price_cents, stock, category_id, is_active, "
    "attributes, created_at, updated_at"
)
_BY_ID = f"SELECT {_COLUMNS} FROM product WHERE id = $1 AND deleted_at IS NULL"
_FIRST = (
    f"SELECT {_COLUMNS} FROM product WHERE deleted_at IS NULL AND is_active "
    "ORDER BY created_at DESC, id DESC LIMIT $1"
)
_AFTER = (
    f"SELECT {_COLUMNS} FROM product WHERE deleted_at IS NULL AND is_active "
    "AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $1"
)
_pool: asyncpg.Pool | None = None


def _document(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]), "sku": row["sku"], "slug": row["slug"], "name": row["name"],
        "description": row["description"], "price_cents": row["price_cents"], "currency": "USD",
        "stock": row["stock"],
        "category_id": str(row["category_id"]) if row["category_id"] else None,
        "is_active": row["is_active"], "attributes": orjson.loads(row["attributes"]),
        "created_at": row["created_at"], "updated_at": row["updated_at"],
    }  # fmt: skip


async def _send(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(
                    os.environ["DATABASE_URL"], min_size=4, max_size=10
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _pool is not None:
                    await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert _pool is not None
    path: str = scope["path"]
    if path.startswith("/api/v1/products/"):
        try:
            product_id = uuid.UUID(path.rsplit("/", 1)[1])
        except ValueError:
            await _send(send, 404, b'{"status":404}')
            return
        row = await _pool.fetchrow(_BY_ID, product_id)
        if row is None:
            await _send(send, 404, b'{"status":404}')
            return
        await _send(send, 200, orjson.dumps(_document(row), option=orjson.OPT_UTC_Z))
    elif path == "/api/v1/products":
        raw = scope["query_string"].decode()
        query = dict(unquote(p).split("=", 1) for p in raw.split("&") if "=" in p)
        if "after_id" in query:
            from datetime import datetime

            rows = await _pool.fetch(
                _AFTER, 20, datetime.fromisoformat(query["after_at"]), uuid.UUID(query["after_id"])
            )
        else:
            rows = await _pool.fetch(_FIRST, 20)
        body = {"items": [_document(r) for r in rows], "next_cursor": None}
        await _send(send, 200, orjson.dumps(body, option=orjson.OPT_UTC_Z))
    else:
        await _send(send, 200, b'{"status":"ok"}')
