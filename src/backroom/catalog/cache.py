"""The server-side cache of product representations: in-process, or Redis shared
by every instance.

Entries carry a rank derived from the product's ``version`` and an offer only
replaces an entry of lower rank, so a slow reader can't put back what a writer
has just replaced. A representation of version v ranks 2v; after a change to
version v commits, the writer stores the new representation, or, when it doesn't
have it, a tombstone ranked 2v - 1: above every older representation, below the
fresh one that the next read will offer. Redis does the compare-and-set in one
Lua script. If Redis is down the cache is bypassed (every read goes to the
database) and a warning is logged; an entry whose replacement failed to reach
Redis during an outage can outlive it by at most the TTL.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from aiodataloader import DataLoader
from cachetools import TTLCache
from redis.asyncio import Redis

from backroom.redis_client import Throttle

log = logging.getLogger("backroom.cache")

TTL_SECONDS = 300
_VERSION_WIDTH = 20
_SEP = b"\x1f"


@dataclass(frozen=True, slots=True)
class CachedProduct:
    rank: int
    is_active: bool
    etag: str
    last_modified: str
    body: bytes  # empty: a tombstone, not servable

    @property
    def servable(self) -> bool:
        return bool(self.body)

    def pack(self) -> bytes:
        head = f"{self.rank:0{_VERSION_WIDTH}d}".encode()
        flags = b"1" if self.is_active else b"0"
        fields = (head, flags, self.etag.encode(), self.last_modified.encode(), self.body)
        return _SEP.join(fields)

    @classmethod
    def unpack(cls, raw: bytes) -> CachedProduct:
        head, flags, etag, modified, body = raw.split(_SEP, 4)
        return cls(int(head), flags == b"1", etag.decode(), modified.decode(), body)


def rank(version: int) -> int:
    return 2 * version


def tombstone(version: int) -> CachedProduct:
    """Version ``version`` has committed: older copies are stale, a fresh read replaces this."""
    return CachedProduct(rank(version) - 1, False, "", "", b"")


class ProductCache(Protocol):
    async def get(self, product_id: uuid.UUID) -> CachedProduct | None: ...

    async def offer(self, product_id: uuid.UUID, entry: CachedProduct) -> None: ...

    async def offer_many(self, entries: dict[uuid.UUID, CachedProduct]) -> None: ...


class NoCache:
    async def get(self, product_id: uuid.UUID) -> CachedProduct | None:
        return None

    async def offer(self, product_id: uuid.UUID, entry: CachedProduct) -> None:
        return None

    async def offer_many(self, entries: dict[uuid.UUID, CachedProduct]) -> None:
        return None


class MemoryCache:
    """One process's cache. Compare-and-set needs no lock: there is no await inside."""

    def __init__(self, maxsize: int = 50_000) -> None:
        self._entries: TTLCache[uuid.UUID, CachedProduct] = TTLCache(maxsize, TTL_SECONDS)

    async def get(self, product_id: uuid.UUID) -> CachedProduct | None:
        return self._entries.get(product_id)

    async def offer(self, product_id: uuid.UUID, entry: CachedProduct) -> None:
        current = self._entries.get(product_id)
        if current is None or current.rank < entry.rank:
            self._entries[product_id] = entry

    async def offer_many(self, entries: dict[uuid.UUID, CachedProduct]) -> None:
        for product_id, entry in entries.items():
            await self.offer(product_id, entry)


# Set KEYS[1] to ARGV[1] only if absent or holding a lower rank (the first 20 bytes
# of the value are the zero-padded rank).
_OFFER = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(string.sub(current, 1, 20)) >= tonumber(string.sub(ARGV[1], 1, 20)) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class RedisCache:
    """Reads are batched: the GETs of every request that asks within the same turn
    of the event loop go to Redis as one MGET (aiodataloader's DataLoader, without its
    memo). Under load that is one round trip, and one socket write, for dozens of
    requests instead of one each; alone, a read waits one loop turn."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._offer = redis.register_script(_OFFER)
        self._outage = Throttle()
        self._loader: DataLoader[str, bytes | None] | None = None
        self._loader_loop: asyncio.AbstractEventLoop | None = None

    @staticmethod
    def _key(product_id: uuid.UUID) -> str:
        return f"backroom:product:{product_id}"

    def _batcher(self) -> DataLoader[str, bytes | None]:
        loop = asyncio.get_running_loop()
        if self._loader is None or self._loader_loop is not loop:
            self._loader = DataLoader(self._mget, max_batch_size=200, cache=False, loop=loop)
            self._loader_loop = loop
        return self._loader

    async def _mget(self, keys: list[str]) -> list[bytes | None]:
        try:
            values = await self._redis.mget(keys)
        except Exception:
            self._warn()
            return [None] * len(keys)
        return [v.encode() if isinstance(v, str) else v for v in values]

    async def get(self, product_id: uuid.UUID) -> CachedProduct | None:
        raw = await self._batcher().load(self._key(product_id))
        if not raw:
            return None
        return CachedProduct.unpack(raw)

    async def offer(self, product_id: uuid.UUID, entry: CachedProduct) -> None:
        try:
            await self._offer(keys=[self._key(product_id)], args=[entry.pack(), TTL_SECONDS])
        except Exception:
            self._warn()

    async def offer_many(self, entries: dict[uuid.UUID, CachedProduct]) -> None:
        """Many offers in pipelined round trips (an import batch's tombstones)."""
        items = list(entries.items())
        try:
            for start in range(0, len(items), 1000):
                pipe = self._redis.pipeline(transaction=False)
                for product_id, entry in items[start : start + 1000]:
                    await self._offer(
                        keys=[self._key(product_id)], args=[entry.pack(), TTL_SECONDS], client=pipe
                    )
                await pipe.execute()
        except Exception:
            self._warn()

    def _warn(self) -> None:
        if self._outage.due(time.monotonic()) is not None:  # not one per request
            log.warning("product cache unavailable; reading from the database", exc_info=True)
