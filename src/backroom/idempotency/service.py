"""``Idempotency-Key``, exactly as the contract says: per user, kept 24 h; the same
key and body replays the first response (``Idempotent-Replayed: true``) with no
new effect; the same key with another body is 422; while the first request is
still running, 409. Stored in the database, so it holds across instances.

A claim is a lease. The key is claimed with an INSERT in its own committed
transaction before the work starts (the primary key makes exactly one claimant
win), with ``lease_expires_at`` = now + ``BACKROOM_IDEMPOTENCY_LEASE_SECONDS``.
A retry while the lease is live is 409 with ``Retry-After``; once it has expired
(the holder was killed, or lost its database connection and could not release
the key), the retry takes the key over by bumping ``attempt``, the fencing token,
with a compare-and-set, and runs the request anew.

Fencing keeps a holder that was merely slow from doing harm: every write of the
outcome is conditional on ``attempt`` still being its own. A use case with
effects records its response with ``Claim.record`` inside its own transaction,
just before COMMIT, so the effects and the answer commit together or not at all:
a stale holder's UPDATE matches no row, it raises ``LeaseLost``, its transaction
rolls back, and its client gets the answer the key now holds. An error answer
with no effects (4xx) is stored afterwards, fenced the same way. A 5xx or an
unexpected error releases the key (again only its own attempt), so the client
may retry at once.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from backroom.db import begin_write, utcnow
from backroom.errors import AppError, Conflict, Unprocessable, problem_response
from backroom.idempotency.models import IdempotencyKey

TTL = timedelta(hours=24)
MAX_KEY = 255
T = TypeVar("T")
Maker = async_sessionmaker[AsyncSession]


class LeaseLost(Conflict):
    """A retry took the key over while this request ran: its effects must not commit."""

    code = "idempotency_lease_lost"


@dataclass(slots=True)
class Claim:
    """This request's hold on a key; ``attempt`` is its fencing token."""

    user_id: uuid.UUID
    key: str
    attempt: int
    lease: timedelta
    # The answer recorded in the use case's transaction: it is the key's answer once
    # the use case has returned (committed); after an error the row tells.
    response: Response | None = None

    async def record(self, session: AsyncSession, response: Response) -> None:
        """Store ``response`` in the caller's transaction, just before its COMMIT.

        Raises ``LeaseLost`` (after rolling the transaction back, so its locks go
        at once) when the key is no longer this attempt's: a stale holder never
        commits a second set of effects."""
        if not await _answered(session, self, response):
            await session.rollback()
            raise LeaseLost("This request's Idempotency-Key was taken over by a retry.")
        self.response = response


def recorder(
    claim: Claim | None, session: AsyncSession, respond: Callable[[T], Response]
) -> Callable[[T], Awaitable[None]] | None:
    """The before-commit hook a use case calls with what it produced: records
    ``respond(result)`` under the claim. None without an ``Idempotency-Key``."""
    if claim is None:
        return None
    held = claim

    async def record(result: T) -> None:
        await held.record(session, respond(result))

    return record


async def run(
    *, request: Request, sessionmaker: Maker, user_id: uuid.UUID, lease_seconds: int,
    handler: Callable[[Claim | None], Awaitable[Response]],
) -> Response:  # fmt: skip
    """Run ``handler`` under the request's ``Idempotency-Key``, if it has one: claim
    the key (or take over an expired lease) and keep the answer, or replay the key's."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler(None)
    if not key or len(key) > MAX_KEY:
        raise Unprocessable.field("Idempotency-Key", f"must be 1-{MAX_KEY} characters")
    digest = hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + await request.body()
    ).hexdigest()
    claimed = await _claim(sessionmaker, user_id, key, digest, timedelta(seconds=lease_seconds))
    if isinstance(claimed, Response):
        return claimed
    try:
        response = await handler(claimed)
    except LeaseLost:
        return await _current(sessionmaker, claimed, digest)
    except AppError as exc:
        # An answer recorded before the error may or may not have committed: if it
        # did, storing this one fails on the row and its answer is replayed.
        return await _finish(sessionmaker, claimed, digest, problem_response(exc))
    except BaseException:
        await _release(sessionmaker, claimed)  # a committed answer stays: not in flight
        raise
    if claimed.response is not None:
        return claimed.response
    return await _finish(sessionmaker, claimed, digest, response)


async def _finish(sessionmaker: Maker, claim: Claim, digest: str, response: Response) -> Response:
    """Keep an answer that has no effects of its own (4xx) for replays; a 5xx releases."""
    if response.status_code >= 500:
        await _release(sessionmaker, claim)
        return response
    async with sessionmaker() as session:
        await begin_write(session)
        stored = await _answered(session, claim, response)
        await session.commit()
    return response if stored else await _current(sessionmaker, claim, digest)


async def _claim(
    sessionmaker: Maker, user_id: uuid.UUID, key: str, digest: str, lease: timedelta
) -> Claim | Response:
    """Claim the key, or take over an expired lease, or answer from the key's row."""
    async with sessionmaker() as session:
        await begin_write(session)
        now = utcnow()
        # An expired key is forgotten: the same key may then start afresh.
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
                IdempotencyKey.created_at < now - TTL,
            )
        )  # fmt: skip
        session.add(
            IdempotencyKey(
                user_id=user_id, key=key, request_hash=digest, created_at=now, attempt=1,
                lease_expires_at=now + lease,
            )
        )  # fmt: skip
        try:
            await session.commit()
            return Claim(user_id, key, 1, lease)
        except IntegrityError:
            await session.rollback()
        first = await _read(session, user_id, key)
        if first is None or first.status_code is not None or first.request_hash != digest:
            return _answer(first, digest, lease)  # gone, answered, or another request
        if _expiry(first, lease) > utcnow():
            return _answer(first, digest, lease)  # its holder may still be working: 409
        return await _take_over(session, first, digest, lease)


async def _take_over(
    session: AsyncSession, first: IdempotencyKey, digest: str, lease: timedelta
) -> Claim | Response:
    """The holder's lease ran out: claim the next attempt. The compare-and-set on
    ``attempt`` lets one of several racing retries win; the others, and a retry
    that finds the old holder's answer committed meanwhile, answer from the row."""
    user_id, key, attempt = first.user_id, first.key, first.attempt
    await begin_write(session)
    taken = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
            IdempotencyKey.attempt == attempt, IdempotencyKey.status_code.is_(None),
        )
        .values(attempt=attempt + 1, lease_expires_at=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    await session.commit()
    if getattr(taken, "rowcount", 0):
        return Claim(user_id, key, attempt + 1, lease)
    return _answer(await _read(session, user_id, key), digest, lease)


async def _current(sessionmaker: Maker, claim: Claim, digest: str) -> Response:
    """What the key answers now, for a request that lost its lease."""
    async with sessionmaker() as session:
        row = await _read(session, claim.user_id, claim.key)
    return _answer(row, digest, claim.lease)


def _answer(row: IdempotencyKey | None, digest: str, lease: timedelta) -> Response:
    """Replay the key's answer, or raise: 422 for another body, 409 while in flight."""
    if row is None:  # released in between: treat like a request still running
        raise _in_progress(1)
    if row.request_hash != digest:
        raise Unprocessable.field("Idempotency-Key", "was used with a different request")
    if row.status_code is None:
        raise _in_progress((_expiry(row, lease) - utcnow()).total_seconds())
    headers = {"Idempotent-Replayed": "true"}
    if row.location:
        headers["Location"] = row.location
    return Response(row.body or b"", row.status_code, headers=headers, media_type=row.content_type)


def _in_progress(seconds_left: float) -> Conflict:
    retry_after = max(1, math.ceil(seconds_left))  # when the holder's lease runs out
    return Conflict(
        "A request with this Idempotency-Key is in progress.",
        headers={"Retry-After": str(retry_after)},
    )


def _expiry(row: IdempotencyKey, lease: timedelta) -> datetime:
    if row.lease_expires_at is not None:
        return row.lease_expires_at
    return row.created_at + lease  # claimed before leases existed


async def _read(session: AsyncSession, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
    stmt = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
    )
    # Fresh from the database: the identity map may hold what this session saw before.
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def _answered(session: AsyncSession, claim: Claim, response: Response) -> bool:
    """Write the answer if the key is still this attempt's and unanswered. Doesn't commit."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == claim.user_id, IdempotencyKey.key == claim.key,
            IdempotencyKey.attempt == claim.attempt, IdempotencyKey.status_code.is_(None),
        )
        .values(
            status_code=response.status_code, body=bytes(response.body),
            content_type=response.headers.get("content-type"),
            location=response.headers.get("location"), lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    return bool(getattr(result, "rowcount", 0))


async def _release(sessionmaker: Maker, claim: Claim) -> None:
    """Forget the key so the client may retry at once, if it is still ours."""
    async with sessionmaker() as session:
        await begin_write(session)
        await session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.user_id == claim.user_id, IdempotencyKey.key == claim.key,
                IdempotencyKey.attempt == claim.attempt, IdempotencyKey.status_code.is_(None),
            )
        )  # fmt: skip
        await session.commit()


async def purge_expired(session: AsyncSession) -> int:
    """Delete keys older than the TTL (the periodic purge). Commits."""
    await begin_write(session)
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - TTL)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
