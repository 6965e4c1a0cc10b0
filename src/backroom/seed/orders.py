"""Orders with their lines, history and payments, priced by ``backroom.pricing``.

Each order gets a fate (delivered, refunded, cancelled unpaid or after paying) and
the times of every step; the steps after "now" haven't happened yet, so recent
orders are still unpaid, paid or shipped. Seeded orders don't take stock: they are
history, and the products' opening stock stands for what is left today.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Iterator
from typing import Any

from backroom import pricing
from backroom.seed import coupons as seed_coupons
from backroom.seed import words
from backroom.seed.catalog import MOVEMENT, Catalog
from backroom.seed.clock import Clock
from backroom.seed.coupons import SeedCoupon
from backroom.seed.keys import OrderNumbers, uuid7
from backroom.seed.people import Customers
from backroom.seed.plan import DAY, HOUR, SECOND, Plan
from backroom.seed.writer import Batch, Codec, Row, Table

ORDER = Table("customer_order", (
    "id", "number", "status", "customer_id", "subtotal_cents", "discount_cents", "tax_cents",
    "shipping_cents", "total_cents", "currency", "coupon_id", "coupon_code",
    "shipping_address", "created_at", "updated_at", "paid_at", "carrier", "tracking_number",
))  # fmt: skip
LINE = Table("order_line", (
    "id", "order_id", "position", "product_id", "sku", "name", "unit_price_cents", "quantity",
    "line_total_cents",
))  # fmt: skip
EVENT = Table(
    "order_event", ("id", "order_id", "from_status", "to_status", "note", "actor_id", "created_at")
)
PAYMENT = Table("payment", (
    "id", "order_id", "provider", "reference", "amount_cents", "status", "created_at",
    "refunded_at",
))  # fmt: skip

_LINES = (1, 2, 3, 4, 5)
_LINES_CUM = (15, 35, 65, 85, 100)  # 15/20/30/20/15 %: three lines on average
_QUANTITIES = (1, 2, 3, 4, 5)
_QUANTITIES_CUM = (70, 88, 95, 98, 100)

# One step of an order's story: (from, to, when, note, made by the customer).
Step = tuple[str | None, str, int, str | None, bool]


class _Orders:
    def __init__(
        self, plan: Plan, rng: random.Random, codec: Codec, catalog: Catalog,
        people: Customers, coupons: list[SeedCoupon],
    ) -> None:  # fmt: skip
        self.plan, self.rng, self.codec = plan, rng, codec
        self.catalog, self.people, self.coupons = catalog, people, coupons
        self.clock = Clock(plan)
        self.numbers = OrderNumbers(plan.tag, rng)
        self.popularity_total = catalog.cum_weights[-1] if catalog.cum_weights else 0.0

    def picks(self, moment: int) -> list[tuple[int, int]]:
        """Distinct products that existed at ``moment``, drawn by popularity, and quantities."""
        rng, cat = self.rng, self.catalog
        available = max(bisect.bisect_right(cat.created, moment), 1)
        wanted = _LINES[bisect.bisect_right(_LINES_CUM, rng.random() * 100)]
        chosen: dict[int, int] = {}
        for _ in range(wanted * 8):  # bounded: tiny catalogs can't fill every line
            if len(chosen) == wanted:
                break
            index = bisect.bisect_right(cat.cum_weights, rng.random() * self.popularity_total)
            if index < available and index not in chosen:
                chosen[index] = _QUANTITIES[
                    bisect.bisect_right(_QUANTITIES_CUM, rng.random() * 100)
                ]
        if not chosen:
            chosen[rng.randrange(available)] = 1
        return list(chosen.items())

    def story(self, created: int) -> list[Step]:
        """Every step of the order's fate, including those still in the future."""
        rng, timeout = self.rng, self.plan.payment_timeout_us
        steps: list[Step] = [(None, "pending_payment", created, None, True)]
        roll = rng.random()
        if roll < 0.06:  # never paid: the payment timeout cancels it
            return [*steps, ("pending_payment", "cancelled", created + timeout,
                             "payment timeout", False)]  # fmt: skip
        if roll < 0.07:
            at = created + rng.randint(60 * SECOND, timeout)
            return [*steps, ("pending_payment", "cancelled", at, None, True)]
        paid = created + min(int((20 + rng.expovariate(1 / 180)) * SECOND), timeout - SECOND)
        steps.append(("pending_payment", "paid", paid, None, True))
        if roll < 0.11:
            at = paid + rng.randint(10 * 60 * SECOND, 20 * HOUR)
            return [*steps, ("paid", "cancelled", at, None, True)]
        shipped = paid + rng.randint(2 * HOUR, 2 * DAY)
        steps.append(("paid", "shipped", shipped, None, False))
        if roll < 0.12:
            return [*steps, ("shipped", "refunded", shipped + rng.randint(DAY, 10 * DAY),
                             None, False)]  # fmt: skip
        delivered = shipped + rng.randint(DAY, 6 * DAY)
        steps.append(("shipped", "delivered", delivered, None, False))
        if roll < 0.15:
            steps.append(("delivered", "refunded", delivered + rng.randint(DAY, 20 * DAY),
                          None, False))  # fmt: skip
        return steps

    def order(self, index: int, out: dict[str, list[Row]]) -> None:
        plan, rng, codec = self.plan, self.rng, self.codec
        created = self.clock.at(index, rng.random())
        limit = bisect.bisect_right(self.people.created, created)
        customer = min(int(rng.random() * limit), len(self.people.ids) - 1)
        customer_id = self.people.ids[customer]
        picks = self.picks(created)
        prices = self.catalog.prices
        line_totals = [prices[p] * q for p, q in picks]
        coupon = seed_coupons.pick(self.coupons, created, sum(line_totals), rng)
        totals = pricing.totals(
            line_totals, coupon.discount if coupon else None, tax_rate_bps=plan.tax_rate_bps,
            shipping_cents=plan.shipping_cents,
            free_shipping_over_cents=plan.free_shipping_over_cents,
        )  # fmt: skip
        steps = [s for s in self.story(created) if s[2] <= plan.now_us]
        order_id, number = codec.uid(uuid7(created, rng)), self.numbers(index)
        paid_at = next((s[2] for s in steps if s[1] == "paid"), None)
        shipped = any(s[1] == "shipped" for s in steps)
        carrier = rng.choice(words.CARRIERS) if shipped else None
        tracking = f"{carrier[:2].upper()}{rng.getrandbits(48):015d}" if carrier else None
        out["customer_order"].append((
            order_id, number, steps[-1][1], customer_id, totals.subtotal_cents,
            totals.discount_cents, totals.tax_cents, totals.shipping_cents, totals.total_cents,
            plan.currency, codec.uid(coupon.id) if coupon else None,
            coupon.code if coupon else None, self.people.addresses[customer],
            codec.ts(created), codec.ts(steps[-1][2]),
            None if paid_at is None else codec.ts(paid_at), carrier, tracking,
        ))  # fmt: skip
        self.lines(order_id, picks, out["order_line"], created)
        self.history(order_id, customer_id, steps, out["order_event"])
        if paid_at is not None:
            self.payment(order_id, paid_at, totals.total_cents, steps, out["payment"])
        if steps[-1][1] in _OPEN:
            self.hold(number, customer_id, picks, created, out["stock_movement"])

    def lines(self, order_id: Any, picks: list[tuple[int, int]], out: list[Row], at: int) -> None:
        cat, codec, rng = self.catalog, self.codec, self.rng
        for position, (p, quantity) in enumerate(picks):
            price = cat.prices[p]
            out.append((codec.uid(uuid7(at, rng)), order_id, position, cat.ids[p], cat.skus[p],
                        cat.names[p], price, quantity, price * quantity))  # fmt: skip

    def history(self, order_id: Any, customer_id: Any, steps: list[Step], out: list[Row]) -> None:
        codec, rng = self.codec, self.rng
        for source, target, at, note, by_customer in steps:
            actor = customer_id if by_customer else None  # None: staff or the system
            out.append((codec.uid(uuid7(at, rng)), order_id, source, target, note, actor,
                        codec.ts(at)))  # fmt: skip

    def hold(
        self, number: str, customer_id: Any, picks: list[tuple[int, int]], at: int,
        out: list[Row],
    ) -> None:  # fmt: skip
        """Take an open order's stock through the ledger, as checkout does, so that
        cancelling it later (the customer, or the payment-timeout job) returns
        exactly what it took. Closed orders are history and take nothing."""
        cat, codec, rng = self.catalog, self.codec, self.rng
        for p, quantity in picks:
            if cat.stock[p] < quantity:  # checkout would refuse: the shop restocked first
                delta = quantity - cat.stock[p] + rng.randint(5, 50)
                cat.stock[p] += delta
                out.append((codec.uid(uuid7(at, rng)), cat.ids[p], delta, "restock", "seed",
                            cat.stock[p], None, codec.ts(at)))  # fmt: skip
            cat.stock[p] -= quantity
            # One microsecond later than the restock, so the ledger reads in order.
            later = at + 1
            out.append((codec.uid(uuid7(later, rng)), cat.ids[p], -quantity, "order",
                        f"order {number}", cat.stock[p], customer_id, codec.ts(later)))  # fmt: skip
            cat.changed[p] = later

    def payment(
        self, order_id: Any, paid_at: int, amount: int, steps: list[Step], out: list[Row]
    ) -> None:
        codec, rng = self.codec, self.rng
        undone = next((s[2] for s in steps if s[2] > paid_at and s[1] in _UNDOING), None)
        out.append((
            codec.uid(uuid7(paid_at, rng)), order_id, "test", f"ch_test_{rng.getrandbits(64):016x}",
            amount, "succeeded" if undone is None else "refunded", codec.ts(paid_at),
            None if undone is None else codec.ts(undone),
        ))  # fmt: skip


_UNDOING = ("cancelled", "refunded")  # after payment, both refund it
_OPEN = ("pending_payment", "paid")  # can still be cancelled, which returns the stock


def orders(
    plan: Plan, rng: random.Random, codec: Codec, catalog: Catalog, people: Customers,
    coupons: list[SeedCoupon],
) -> Iterator[Batch]:  # fmt: skip
    """Orders in time order, ``plan.batch_orders`` at a time, with lines, history, payments."""
    maker = _Orders(plan, rng, codec, catalog, people, coupons)
    tables = (ORDER, LINE, EVENT, PAYMENT, MOVEMENT)
    for first in range(0, plan.orders, plan.batch_orders):
        last = min(first + plan.batch_orders, plan.orders)
        out: dict[str, list[Row]] = {table.name: [] for table in tables}
        for index in range(first, last):
            maker.order(index, out)
        yield Batch(last - first, [(table, out[table.name]) for table in tables])
