"""``Idempotency-Key``, exactly as the contract says: per user, kept 24 h; the same
key and body replays the first response (``Idempotent-Replayed: true``) with no
new effect; the same key with another body is 422; while the first request is
still running, 409. Stored in the database, so it holds across instances.

The key is claimed with an INSERT in its own committed transaction before the
work starts (the primary key makes exactly one claimant win), and the final
response is written back after. A 5xx or an unexpected error releases the key,
so the client may retry.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from backroom.db import begin_write, utcnow
from backroom.errors import AppError, Conflict, Unprocessable, problem_response
from backroom.idempotency.models import IdempotencyKey

TTL = timedelta(hours=24)
MAX_KEY = 255


async def run(
    *,
    request: Request,
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: uuid.UUID,
    handler: Callable[[], Awaitable[Response]],
) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler()
    if not key or len(key) > MAX_KEY:
        raise Unprocessable.field("Idempotency-Key", f"must be 1-{MAX_KEY} characters")
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + await request.body()
    ).hexdigest()
    replay = await _claim(sessionmaker, user_id, key, digest)
    if replay is not None:
        return replay
    try:
        response = await handler()
    except AppError as exc:
        response = problem_response(exc)
    except BaseException:
        await _release(sessionmaker, user_id, key)
        raise
    if response.status_code >= 500:
        await _release(sessionmaker, user_id, key)
        return response
    await _store(sessionmaker, user_id, key, response)
    return response


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, key: str, digest: str
) -> Response | None:
    """Claim the key (None), or answer from the first request with it."""
    async with sessionmaker() as session:
        await begin_write(session)
        # An expired key is forgotten: the same key may then start afresh.
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                IdempotencyKey.created_at < utcnow() - TTL,
            )
        )  # fmt: skip
        session.add(
            IdempotencyKey(user_id=user_id, key=key, request_hash=digest, created_at=utcnow())
        )
        try:
            await session.commit()
            return None
        except IntegrityError:
            await session.rollback()
        first = await session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
    if first is None:  # released in between: treat like a request still running
        raise Conflict("A request with this Idempotency-Key is in progress.")
    if first.request_hash != digest:
        raise Unprocessable.field("Idempotency-Key", "was used with a different request")
    if first.status_code is None:
        raise Conflict("A request with this Idempotency-Key is in progress.")
    headers = {"Idempotent-Replayed": "true"}
    if first.location:
        headers["Location"] = first.location
    return Response(
        first.body or b"", first.status_code, headers=headers, media_type=first.content_type
    )


async def _store(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, key: str, response: Response
) -> None:
    async with sessionmaker() as session:
        await begin_write(session)
        row = await session.get(IdempotencyKey, (user_id, key))
        if row is not None:
            row.status_code = response.status_code
            row.body = bytes(response.body)
            row.content_type = response.headers.get("content-type")
            row.location = response.headers.get("location")
        await session.commit()


async def _release(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: uuid.UUID, key: str
) -> None:
    async with sessionmaker() as session:
        await begin_write(session)
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
            )
        )
        await session.commit()


async def purge_expired(session: AsyncSession) -> int:
    """Delete keys older than the TTL (the periodic purge). Commits."""
    await begin_write(session)
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - TTL)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
