"""The data `bench/suite.py` measures on: a seeded database, ids, tokens, wrk scripts."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import harness
import httpx

from backroom.auth.tokens import issue_access
from backroom.pagination import encode_cursor

ROOT = Path(__file__).resolve().parent.parent
PG_DB = "backroom_bench_suite"
FULL = (100_000, 2_000, 100_000)  # products, customers, orders
QUICK = (5_000, 200, 2_000)  # --quick: a smoke run of the whole suite
HOT = 1_000  # products restocked for the checkout scenario
RESTOCK = 1_000_000
ADDRESS = {"name": "Bench", "line1": "1 Loop Rd", "city": "Local", "postal_code": "00000",
           "country": "US"}  # fmt: skip

_CHECKOUT = """
local products = {%(products)s}
local tokens = {%(tokens)s}
request = function()
  local body = '{"shipping_address":%(address)s,"items":[{"product_id":"'
    .. products[math.random(#products)] .. '","quantity":' .. math.random(3) .. '}]}'
  return wrk.format("POST", "/api/v1/orders", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}, body)
end
"""
_CART = """
local products = {%(products)s}
local tokens = {%(tokens)s}
request = function()
  local path = "/api/v1/cart/items/" .. products[math.random(#products)]
  local body = '{"quantity":' .. math.random(5) .. '}'
  return wrk.format("PUT", path, {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}, body)
end
"""


@dataclass
class Setup:
    env: dict[str, str]
    dsn: str  # PostgreSQL only ('' on SQLite)
    ids_script: str
    deep: tuple[str, str]
    cursor: str
    staff: str
    year: str
    cart_script: str
    checkout_script: str
    summary: str


def prepare(*, sqlite: bool, redis: str, quick: bool = False) -> Setup:
    products, customers, orders = QUICK if quick else FULL
    seed = ("--products", str(products), "--customers", str(customers), "--orders",
            str(orders), "--seed", "7")  # fmt: skip
    workdir = harness.tempdir()
    dsn = ""
    if sqlite:
        env = harness.base_env(None, workdir / "data")
    else:
        harness.recreate_database(PG_DB)
        dsn = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
        env = harness.base_env(dsn.replace("postgresql://", "postgresql+asyncpg://"),
                               workdir / "data")  # fmt: skip
    started = time.monotonic()
    harness.backroom(env, "seed", *seed)
    seeded = time.monotonic() - started
    staff_email = f"bench-staff-{uuid.uuid4().hex[:8]}@example.com"
    harness.backroom(env, "create-user", "--email", staff_email, "--password",
                     "bench-suite-password-1", "--role", "staff")  # fmt: skip
    rows = _query(env, dsn, sqlite, staff_email, deep_offset=products * 2 // 5 - 1)
    key, now = env["BACKROOM_SECRET_KEY"].encode(), datetime.now(UTC)
    tokens = [issue_access(key, uid, 7200, now) for uid in rows["customers"]]
    staff = issue_access(key, rows["staff"], 7200, now)
    _restock(env, staff, rows["hot"], sqlite, redis)
    ids_file = workdir / "ids.txt"
    ids_file.write_text("\n".join(rows["ids"]))
    os.environ["IDS_FILE"] = str(ids_file)  # read by random_ids.lua
    today = now.date()
    return Setup(
        env=env, dsn=dsn, ids_script=str(ROOT / "bench" / "random_ids.lua"), deep=rows["deep"],
        cursor=encode_cursor(key, "products:-created_at", list(rows["deep"])), staff=staff,
        year=f"from={today - timedelta(days=364)}&to={today}",
        cart_script=_lua(workdir / "cart.lua", _CART, rows["hot"], tokens),
        checkout_script=_lua(workdir / "checkout.lua", _CHECKOUT, rows["hot"], tokens),
        summary=f"`backroom seed {' '.join(seed)}` ({seeded:.0f} s)",
    )  # fmt: skip


def _lua(path: Path, template: str, products: list[str], tokens: list[str]) -> str:
    path.write_text(template % {
        "products": ",".join(f'"{p}"' for p in products),
        "tokens": ",".join(f'"{t}"' for t in tokens),
        "address": json.dumps(ADDRESS, separators=(",", ":")),
    })  # fmt: skip
    return str(path)


def _restock(env: dict[str, str], staff: str, hot: list[str], sqlite: bool, redis: str) -> None:
    """Ample stock for the checkout products, through the API (so the ledger agrees)."""
    run_env = env if sqlite else {**env, "BACKROOM_REDIS_URL": redis}
    auth = {"Authorization": f"Bearer {staff}"}
    with harness.server(run_env, 1) as (url, _), httpx.Client(base_url=url, headers=auth) as http:
        for pid in hot:
            movement = {"delta": RESTOCK, "reason": "restock"}
            http.post(f"/api/v1/products/{pid}/stock-movements", json=movement).raise_for_status()


_ACTIVE = "SELECT id FROM product WHERE is_active AND deleted_at IS NULL"
_DEEP = (  # 2,000 pages of 20 deep with the full seed (active products are ~95 %)
    "SELECT created_at, id FROM product WHERE is_active AND deleted_at IS NULL "
    "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET {offset}"
)
_PEOPLE = "SELECT id FROM user_account WHERE role = 'customer' ORDER BY email LIMIT 64"


def _query(env: dict[str, str], dsn: str, sqlite: bool, staff_email: str, *,
           deep_offset: int) -> dict[str, Any]:  # fmt: skip
    deep_sql = _DEEP.format(offset=min(deep_offset, 39_999))
    if not sqlite:
        return asyncio.run(_query_pg(dsn, staff_email, deep_sql))
    db = sqlite3.connect(Path(env["BACKROOM_DATA_DIR"]) / "backroom.sqlite3")
    try:
        ids = [str(uuid.UUID(r[0])) for r in db.execute(_ACTIVE + " LIMIT 5000")]
        at, pid = db.execute(deep_sql).fetchone()
        people = [uuid.UUID(r[0]) for r in db.execute(_PEOPLE)]
        staff = db.execute("SELECT id FROM user_account WHERE email = ?", (staff_email,)).fetchone()
    finally:
        db.close()
    when = datetime.fromisoformat(at).replace(tzinfo=UTC).isoformat()
    return {"ids": ids, "hot": ids[:HOT], "deep": (when, str(uuid.UUID(pid))),
            "customers": people, "staff": uuid.UUID(staff[0])}  # fmt: skip


async def _query_pg(dsn: str, staff_email: str, deep_sql: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        ids = [str(r[0]) for r in await conn.fetch(_ACTIVE + " LIMIT 5000")]
        deep = await conn.fetchrow(deep_sql)
        people = [r[0] for r in await conn.fetch(_PEOPLE)]
        staff = await conn.fetchval("SELECT id FROM user_account WHERE email = $1", staff_email)
    finally:
        await conn.close()
    return {"ids": ids, "hot": ids[:HOT], "deep": (deep["created_at"].isoformat(),
            str(deep["id"])), "customers": people, "staff": staff}  # fmt: skip


def drop() -> None:
    harness.drop_database(PG_DB)
