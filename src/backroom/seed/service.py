"""``backroom seed``: reproducible demo data, fast enough for a million orders.

Phases run in order (categories and coupons, products with their opening stock,
customers, orders with lines, history and payments). Within a phase, the next
batch is generated in a worker thread while the previous one is being written,
so Python and the database work at the same time; memory stays flat apart from
a few fields per product and customer that orders refer to.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from backroom.reports import rollup
from backroom.seed import catalog as seed_catalog
from backroom.seed import coupons as seed_coupons
from backroom.seed import orders as seed_orders
from backroom.seed import people as seed_people
from backroom.seed.plan import Plan
from backroom.seed.writer import Batch, Writer, open_writer


class AlreadySeeded(Exception):
    """This seed's tag is already in the database: a second run would collide."""


class Reporter(Protocol):
    def start(self, phase: str, total: int) -> None: ...

    def advance(self, units: int) -> None: ...


class _Silent:
    def start(self, phase: str, total: int) -> None:
        return None

    def advance(self, units: int) -> None:
        return None


@dataclass
class Summary:
    seed: int
    tag: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows written
    phases: list[tuple[str, int, float]] = field(default_factory=list)  # name, units, seconds

    def add(self, batch: Batch) -> None:
        for table, count in batch.rows().items():
            self.rows[table] = self.rows.get(table, 0) + count


def check(plan: Plan) -> None:
    """Refuse plans that can't be made (raises ValueError with the reason)."""
    if min(plan.products, plan.customers, plan.orders) < 0:
        raise ValueError("counts can't be negative")
    if plan.orders and not (plan.products and plan.customers):
        raise ValueError("orders need at least one product and one customer")


async def seed(*, engine: AsyncEngine, plan: Plan, report: Reporter | None = None) -> Summary:
    """Write the plan's data. Refuses (``AlreadySeeded``) a seed already written here."""
    check(plan)
    run = _Run(plan, report or _Silent())
    async with open_writer(engine) as writer:
        await run.refuse_if_seeded(writer)
        await run.catalog(writer)
        await run.customers(writer)
        await run.orders(writer)
        started = time.perf_counter()
        await writer.finish()
        run.summary.phases.append(("commit and analyze", 0, time.perf_counter() - started))
    if plan.orders:  # orders written in bulk skip the state machine: rebuild what it keeps
        started = time.perf_counter()
        written = await rollup.rebuild_all(engine)
        run.summary.phases.append(("sales rollup", 0, time.perf_counter() - started))
        run.summary.rows.update(written)
    return run.summary


class _Run:
    """One run's state: the random stream (consumed in a fixed order, so the same
    seed gives the same data on either database) and what later phases refer to."""

    def __init__(self, plan: Plan, report: Reporter) -> None:
        self.plan, self.report = plan, report
        self.rng = random.Random(plan.seed)  # noqa: S311 - demo data, not secrets  # nosec B311
        self.summary = Summary(plan.seed, plan.tag)
        self.coupons = seed_coupons.make(plan, self.rng)
        self.products = seed_catalog.Catalog()
        self.people = seed_people.Customers()

    async def refuse_if_seeded(self, writer: Writer) -> None:
        marker = seed_coupons.marker_code(self.plan.tag)
        if await writer.fetch("SELECT 1 FROM coupon WHERE code = ?", marker):
            raise AlreadySeeded(
                f"--seed {self.plan.seed} (tag {self.plan.tag}) was already written to this "
                f"database (coupon {marker} exists); pass another --seed to add more data"
            )

    async def catalog(self, writer: Writer) -> None:
        plan, rng, codec = self.plan, self.rng, writer.codec
        slugs = seed_catalog.category_slugs()
        found = await writer.fetch(
            f"SELECT slug, id FROM category WHERE slug IN ({', '.join('?' * len(slugs))})",  # noqa: S608 - placeholders only  # nosec B608
            *slugs,
        )
        rows, leaf_ids = seed_catalog.categories(plan, rng, codec, dict(found))
        coupon_rows = seed_coupons.rows(self.coupons, plan, codec)
        first = Batch(0, [(seed_catalog.CATEGORY, rows), (seed_coupons.COUPON, coupon_rows)])
        await self.phase(writer, "categories and coupons", iter([first]), 0)
        batches = seed_catalog.products(plan, rng, codec, leaf_ids, self.products)
        await self.phase(writer, "products", batches, plan.products)

    async def customers(self, writer: Writer) -> None:
        password_hash = await asyncio.to_thread(seed_people.throwaway_hash)
        batches = seed_people.customers(
            self.plan, self.rng, writer.codec, self.people, password_hash
        )
        await self.phase(writer, "customers", batches, self.plan.customers)

    async def orders(self, writer: Writer) -> None:
        batches = seed_orders.orders(
            self.plan, self.rng, writer.codec, self.products, self.people, self.coupons
        )
        await self.phase(writer, "orders", batches, self.plan.orders)
        codec, products = writer.codec, self.products
        await writer.execute_many(  # redemptions were counted while the orders were made
            "UPDATE coupon SET redemptions = ? WHERE id = ?",
            [(c.redemptions, codec.uid(c.id)) for c in self.coupons if c.redemptions],
        )
        await writer.execute_many(  # what open orders took (orders.hold)
            "UPDATE product SET stock = ?, version = version + 1, updated_at = ? WHERE id = ?",
            [(products.stock[p], codec.ts(at), products.ids[p])
             for p, at in sorted(products.changed.items())],
        )  # fmt: skip

    async def phase(self, writer: Writer, name: str, batches: Iterator[Batch], total: int) -> None:
        """Generate batch n+1 in a thread while batch n is written."""
        self.report.start(name, total)
        started = time.perf_counter()
        pending: asyncio.Task[None] | None = None
        try:
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                if pending is not None:
                    await pending
                pending = asyncio.create_task(self.write(writer, batch))
            if pending is not None:
                await pending
        except BaseException:
            if pending is not None:  # let the write in flight end before rolling back
                await asyncio.gather(pending, return_exceptions=True)
            raise
        self.summary.phases.append((name, total, time.perf_counter() - started))

    async def write(self, writer: Writer, batch: Batch) -> None:
        await writer.write(batch)
        self.summary.add(batch)
        self.report.advance(batch.units)
