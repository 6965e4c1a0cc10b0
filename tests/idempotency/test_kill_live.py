"""kill -9 in the middle of a request that claimed an Idempotency-Key, with real
``backroom serve`` processes. PostgreSQL only: the holder is stopped after its
claim by a row lock the test holds on the coupon its checkout redeems (SQLite has
no row locks, and its write lock would stop the claim too; the same state is
covered there by ``test_leases.py``, which leaves the claim row behind)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests import backends, live
from tests.conftest import PG_URL, REDIS_URL
from tests.orders.test_place import ADDRESS
from tests.orders.test_races_live import _people, _product

pytestmark = pytest.mark.live
LEASE = 2


async def _until(what: str, check: asyncpg.Connection, sql: str, *args: object) -> None:
    for _ in range(200):  # bounded: 10 s
        if await check.fetchval(sql, *args):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(what)


@pytest.fixture
def two_servers(
    backend: backends.Backend, tmp_path: Path
) -> Iterator[tuple[live.LiveServer, live.LiveServer]]:
    """Two instances on one PostgreSQL database, with a short lease."""
    if backend.name != "postgres":
        pytest.skip("needs PostgreSQL's row locks to stop the holder after its claim")
    env = live.live_env("postgres", tmp_path, PG_URL, REDIS_URL, name="idemkill")
    env["BACKROOM_IDEMPOTENCY_LEASE_SECONDS"] = str(LEASE)
    with live.serve(env) as doomed, live.serve(env) as survivor:
        yield doomed, survivor


async def _shop(http: httpx.AsyncClient, staff: dict[str, str]) -> tuple[str, dict[str, object]]:
    """A product and a coupon; returns the coupon's id and an order body using both."""
    product = await _product(http, staff, stock=10)
    code = f"KILL{uuid.uuid4().hex[:6]}"
    coupon = await http.post(
        "/api/v1/coupons", headers=staff, json={"code": code, "percent_off": 10}
    )
    assert coupon.status_code == 201, coupon.text
    body = {"shipping_address": ADDRESS, "coupon_code": code,
            "items": [{"product_id": product["id"], "quantity": 1}]}  # fmt: skip
    return str(coupon.json()["id"]), body


async def _kill_while_holding(
    doomed: live.LiveServer, lock: asyncpg.Connection, check: asyncpg.Connection,
    coupon_id: str, headers: dict[str, str], body: dict[str, object],
) -> None:  # fmt: skip
    """Send the request to ``doomed``, let it claim the key and stop on the coupon's
    row lock (held by ``lock``'s open transaction), then kill -9 the instance."""
    await lock.execute("SELECT 1 FROM coupon WHERE id = $1 FOR UPDATE", uuid.UUID(coupon_id))
    async with httpx.AsyncClient(base_url=doomed.url, timeout=30) as victim:
        request = asyncio.create_task(victim.post("/api/v1/orders", headers=headers, json=body))
        waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted"
        await _until("the holder waits on the coupon", check, waiting)
        assert await check.fetchval("SELECT attempt FROM idempotency_key WHERE key = $1",
                                    headers["Idempotency-Key"]) == 1  # fmt: skip
        doomed.process.kill()  # kill -9: no release, no goodbye
        doomed.process.wait()
        with pytest.raises(httpx.HTTPError):
            await request


async def test_a_key_claimed_by_a_killed_instance_is_taken_over_after_its_lease(
    two_servers: tuple[live.LiveServer, live.LiveServer],
) -> None:
    doomed, survivor = two_servers
    dsn = survivor.env["BACKROOM_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    staff, (buyer,) = await _people(survivor, 1)
    headers = {**buyer, "Idempotency-Key": "killed"}
    async with httpx.AsyncClient(base_url=survivor.url, timeout=30) as http:
        coupon_id, body = await _shop(http, staff)
        lock, check = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        try:
            held = lock.transaction()
            await held.start()
            await _kill_while_holding(doomed, lock, check, coupon_id, headers, body)
            busy = await http.post("/api/v1/orders", headers=headers, json=body)
            assert busy.status_code == 409, busy.text  # the dead holder's lease is live
            assert 1 <= int(busy.headers["retry-after"]) <= LEASE
            await held.rollback()  # the dead holder's transaction can now roll back
            await asyncio.sleep(int(busy.headers["retry-after"]) + 0.2)
            retried = await http.post("/api/v1/orders", headers=headers, json=body)
            assert retried.status_code == 201, retried.text
            assert "idempotent-replayed" not in retried.headers
            attempt = "SELECT attempt FROM idempotency_key WHERE key = 'killed'"
            assert await check.fetchval(attempt) == 2
        finally:
            await lock.close()
            await check.close()
        again = await http.post("/api/v1/orders", headers=headers, json=body)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == retried.json()["id"]
        orders = (await http.get("/api/v1/orders", headers=buyer)).json()["items"]
        assert len(orders) == 1
        coupon = (await http.get(f"/api/v1/coupons/{coupon_id}", headers=staff)).json()
        assert coupon["redemptions"] == 1
