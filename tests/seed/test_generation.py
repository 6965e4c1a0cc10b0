"""The generators alone (no database): keys, the clock, and stock held by open orders."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from backroom.config import Settings
from backroom.seed import keys
from backroom.seed.catalog import Catalog
from backroom.seed.clock import Clock
from backroom.seed.orders import _Orders
from backroom.seed.people import Customers
from backroom.seed.plan import Plan
from backroom.seed.writer import SQLiteCodec

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _plan(**sizes: int) -> Plan:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return Plan.build(settings, seed=1, **{"products": 1, "customers": 1, "orders": 1, **sizes},
                      now=NOW)  # fmt: skip


def test_tags_are_distinct_for_every_seed_below_32768() -> None:
    tags = {keys.tag_for(seed) for seed in range(keys.TAG_SPACE)}
    assert len(tags) == keys.TAG_SPACE
    assert all(len(tag) == 3 and set(tag) <= set(keys.ALPHABET) for tag in tags)


def test_order_numbers_are_unique_and_spread() -> None:
    numbers = keys.OrderNumbers("ABC", random.Random(3))
    made = [numbers(i) for i in range(200_000)]
    assert len(set(made)) == len(made)
    assert all(n.startswith("BR-ABC") and len(n) == 13 for n in made)
    assert made[:5] != sorted(made[:5])  # not a visible counter


def test_uuid7_carries_the_millisecond() -> None:
    value = keys.uuid7(1_700_000_000_123_456, random.Random(1))
    assert value >> 80 == 1_700_000_000_123
    assert (value >> 76) & 0xF == 7 and (value >> 62) & 0b11 == 0b10


def test_clock_is_increasing_and_inside_the_window() -> None:
    plan = _plan(orders=10_000)
    clock = Clock(plan)
    times = [clock.at(i, 0.5) for i in range(0, 10_000, 7)]
    assert times == sorted(times)
    assert plan.start_us <= times[0] and times[-1] <= plan.now_us
    assert clock.at(9_999, 0.999) > plan.now_us - plan.payment_timeout_us  # some still open


def test_an_open_order_restocks_before_taking_what_is_short() -> None:
    plan, codec = _plan(), SQLiteCodec()
    catalog, people = Catalog(), Customers()
    catalog.add("p0", "SKU-1", "Mug", 1_000, plan.start_us, 1)
    catalog.rank(random.Random(0))
    maker = _Orders(plan, random.Random(0), codec, catalog, people, [])
    out: list[tuple[object, ...]] = []
    maker.hold("BR-X", "c0", [(0, 3)], plan.now_us - 10, out)
    restock, taken = out
    assert restock[2:5] == (restock[2], "restock", "seed") and restock[2] >= 2 + 5
    assert taken[2:5] == (-3, "order", "order BR-X") and taken[6] == "c0"
    assert taken[5] == 1 + restock[2] - 3 == catalog.stock[0] >= 0
    assert catalog.changed == {0: plan.now_us - 9}
