"""A handful of coupons per run (codes end in the run's tag), used by some orders.

The coupon rows are the run's marker: a run whose ``WELCOME10-<tag>`` exists was
already written, and is refused (see ``service.seed``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from backroom import pricing
from backroom.seed.keys import uuid7
from backroom.seed.plan import DAY, Plan
from backroom.seed.writer import Codec, Row, Table

COUPON = Table("coupon", (
    "id", "code", "percent_off", "amount_off_cents", "min_subtotal_cents", "starts_at",
    "ends_at", "max_redemptions", "redemptions", "is_active", "created_at", "updated_at",
))  # fmt: skip
USE_RATE = 0.15  # of orders try a coupon; some don't reach its minimum


@dataclass(slots=True)
class SeedCoupon:
    id: Any
    code: str
    discount: pricing.Discount
    starts_us: int | None
    ends_us: int | None
    limit: int | None
    active: bool
    redemptions: int = 0

    def usable_at(self, moment: int) -> bool:
        # ``active`` is today's flag: FLASH50 was switched off after its sale day.
        return (
            (self.starts_us is None or self.starts_us <= moment)
            and (self.ends_us is None or moment < self.ends_us)
            and (self.limit is None or self.redemptions < self.limit)
        )


def marker_code(tag: str) -> str:
    return f"WELCOME10-{tag}"


def make(plan: Plan, rng: random.Random) -> list[SeedCoupon]:
    now, tag = plan.now_us, plan.tag
    specs: list[tuple[str, int | None, int | None, int, int | None, int | None, int | None]] = [
        # code, percent, amount, min subtotal, starts, ends (days ago), limit
        ("WELCOME10", 10, None, 0, None, None, None),
        ("SAVE5", None, 500, 2_500, None, None, None),
        ("SAVE20", None, 2_000, 10_000, None, None, None),
        ("SUMMER15", 15, None, 0, 420, 330, None),
        ("HOLIDAY25", 25, None, 5_000, 40, 5, max(5, plan.orders // 400)),
        ("FLASH50", 50, None, 0, 200, 199, None),
    ]
    made = []
    for code, percent, amount, minimum, starts, ends, limit in specs:
        made.append(SeedCoupon(
            id=uuid7(plan.start_us - 7 * DAY, rng), code=f"{code}-{tag}",
            discount=pricing.Discount(percent, amount, minimum),
            starts_us=None if starts is None else now - starts * DAY,
            ends_us=None if ends is None else now - ends * DAY,
            limit=limit, active=code != "FLASH50",
        ))  # fmt: skip
    return made


def rows(coupons: list[SeedCoupon], plan: Plan, codec: Codec) -> list[Row]:
    """Rows with ``redemptions`` 0: orders reference the coupons, so they are written
    first; the counts are set once the orders are in."""
    created = codec.ts(plan.start_us - 7 * DAY)
    return [
        (codec.uid(c.id), c.code, c.discount.percent_off, c.discount.amount_off_cents,
         c.discount.min_subtotal_cents,
         None if c.starts_us is None else codec.ts(c.starts_us),
         None if c.ends_us is None else codec.ts(c.ends_us),
         c.limit, 0, codec.flag(c.active), created, created)
        for c in coupons
    ]  # fmt: skip


def pick(
    coupons: list[SeedCoupon], moment: int, subtotal: int, rng: random.Random
) -> SeedCoupon | None:
    """The coupon an order uses, with its redemption counted, or None."""
    if rng.random() >= USE_RATE:
        return None
    usable = [c for c in coupons if c.usable_at(moment)]
    if not usable:
        return None
    coupon = rng.choice(usable)
    if subtotal < coupon.discount.min_subtotal_cents:
        return None  # checkout refuses a coupon below its minimum
    coupon.redemptions += 1
    return coupon
