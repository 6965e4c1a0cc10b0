"""The money formulas against an independent computation with Decimal (ROUND_HALF_UP)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from backroom.pricing import Discount, half_up, totals


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _reference(
    lines: list[int], d: Discount | None, bps: int, ship: int, free: int | None
) -> tuple[int, ...]:
    subtotal = sum(lines)
    discount = 0
    if d is not None and subtotal >= d.min_subtotal_cents:
        if d.percent_off is not None:
            discount = _round(Decimal(subtotal) * d.percent_off / 100)
        else:
            assert d.amount_off_cents is not None
            discount = min(d.amount_off_cents, subtotal)
    tax = _round(Decimal(subtotal - discount) * bps / 10000)
    shipping = 0 if free is not None and subtotal - discount >= free else ship
    return subtotal, discount, tax, shipping, subtotal - discount + tax + shipping


discounts = (
    st.none()
    | st.builds(
        Discount,
        percent_off=st.integers(1, 100),
        amount_off_cents=st.none(),
        min_subtotal_cents=st.integers(0, 50_000),
    )
    | st.builds(
        Discount,
        percent_off=st.none(),
        amount_off_cents=st.integers(1, 100_000),
        min_subtotal_cents=st.integers(0, 50_000),
    )
)


@given(
    lines=st.lists(st.integers(0, 10**9), max_size=100),
    discount=discounts,
    bps=st.integers(0, 10_000),
    ship=st.integers(0, 10_000),
    free=st.none() | st.integers(0, 100_000),
)
def test_totals_match_an_independent_decimal_computation(
    lines: list[int], discount: Discount | None, bps: int, ship: int, free: int | None
) -> None:
    got = totals(
        lines, discount, tax_rate_bps=bps, shipping_cents=ship, free_shipping_over_cents=free
    )
    assert (got.subtotal_cents, got.discount_cents, got.tax_cents, got.shipping_cents,
            got.total_cents) == _reference(lines, discount, bps, ship, free)  # fmt: skip


def test_halves_round_up() -> None:
    assert half_up(5, 10) == 1  # 0.5 -> 1 (Python's round gives 0)
    assert half_up(25, 10) == 3  # 2.5 -> 3 (round gives 2)
    assert half_up(24, 10) == 2
    assert half_up(0, 7) == 0
