"""Backup and restore as docs/deployment.md describes them: pg_dump of the live
database, pg_restore into a fresh one, and an instance on the restored database
serves the same orders to the same customers; the reports' rollup, lost or stale
after a restore, is rebuilt from the orders with ``backroom reports rebuild``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.cluster import shop
from tests.cluster.harness import Cluster

RESTORED = "backroom_restored"
# Fixed statement: every table of the rollup, emptied as if it had not been restored.
LOSE_THE_ROLLUP = (
    "TRUNCATE sales_day, product_sales_day, product_sales_month, product_sales_quarter, "
    "customer_sales_month, customer_sales_quarter"
)


def _reports() -> dict[str, dict[str, str]]:
    today = datetime.now(UTC).date()
    days = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    return {
        "/api/v1/reports/sales": {**days, "granularity": "day"},
        "/api/v1/reports/top-products": {**days, "limit": "50"},
        "/api/v1/reports/customers": {**days, "limit": "50"},
        "/api/v1/reports/inventory": {},
    }


async def _read_reports(http: httpx.AsyncClient, admin: shop.Account) -> dict[str, Any]:
    read = {}
    for path, params in _reports().items():
        response = await http.get(path, params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        read[path] = response.json()
    return read


async def _orders(
    lb: httpx.AsyncClient, accounts: list[shop.Account], product_id: str
) -> dict[str, shop.Account]:
    """Six orders from three customers, four of them paid (they count in the reports)."""
    placed = {}
    for index in range(6):
        account = accounts[index % 3]
        body = shop.order_body(product_id, quantity=index + 1)
        response = await lb.post("/api/v1/orders", json=body, headers=account.headers)
        assert response.status_code == 201, response.text
        order_id = response.json()["id"]
        if index % 3 != 2:
            paid = await lb.post(
                f"/api/v1/orders/{order_id}/pay", json={"provider": "test", "token": "tok_visa"},
                headers=account.headers,
            )  # fmt: skip
            assert paid.status_code == 200, paid.text
        placed[order_id] = account
    return placed


async def test_a_restored_backup_serves_the_same_orders_and_rebuilds_the_reports(
    cluster: Cluster,
) -> None:
    async with shop.client(cluster.url) as lb:
        admin = await shop.staff(cluster, lb)
        product_id = await shop.product(lb, admin, stock=100)
        placed = await _orders(lb, await shop.customers(lb, 3), product_id)
        before = {o: (await lb.get(f"/api/v1/orders/{o}", headers=a.headers)).json()
                  for o, a in placed.items()}  # fmt: skip
        product = (await lb.get(f"/api/v1/products/{product_id}")).json()
        reports = await _read_reports(lb, admin)
    dump = cluster.root / "backup.dump"
    await asyncio.to_thread(cluster.backup, dump)
    await asyncio.to_thread(cluster.restore, dump, RESTORED)
    # Its own Redis database: the live instances' product cache must not answer for it.
    restored, url = await asyncio.to_thread(cluster.serve_extra, "restored", RESTORED, 1)
    try:
        async with shop.client(url) as http:
            for order_id, account in placed.items():  # the same tokens: same users, same key
                response = await http.get(f"/api/v1/orders/{order_id}", headers=account.headers)
                assert response.json() == before[order_id]
            assert (await http.get(f"/api/v1/products/{product_id}")).json() == product
            assert await _read_reports(http, admin) == reports
            await asyncio.to_thread(cluster.psql, LOSE_THE_ROLLUP, RESTORED)
            lost = await _read_reports(http, admin)
            assert lost["/api/v1/reports/sales"]["totals"]["orders"] == 0
            env = restored.env or {}
            output = await asyncio.to_thread(cluster.backroom, "reports", "rebuild", env=env)
            assert "rebuilt" in output
            assert await _read_reports(http, admin) == reports
    finally:
        await asyncio.to_thread(restored.stop)
        del cluster.procs["restored"]
        await asyncio.to_thread(cluster.psql, f'DROP DATABASE IF EXISTS "{RESTORED}"')
