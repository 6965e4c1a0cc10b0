"""The contract's money formulas, in one place for carts and orders. Integers only;
every division rounds half up (``round`` in Python would round half to even)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Discount:
    percent_off: int | None
    amount_off_cents: int | None
    min_subtotal_cents: int


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int


def half_up(numerator: int, denominator: int) -> int:
    """round(numerator / denominator), halves away from zero, for non-negative values."""
    return (2 * numerator + denominator) // (2 * denominator)


def totals(
    line_totals: list[int],
    discount: Discount | None,
    *,
    tax_rate_bps: int,
    shipping_cents: int,
    free_shipping_over_cents: int | None,
) -> Totals:
    subtotal = sum(line_totals)
    off = 0
    if discount is not None and subtotal >= discount.min_subtotal_cents:
        if discount.percent_off is not None:
            off = half_up(subtotal * discount.percent_off, 100)
        elif discount.amount_off_cents is not None:
            off = min(discount.amount_off_cents, subtotal)
    taxable = subtotal - off
    tax = half_up(taxable * tax_rate_bps, 10_000)
    shipping = shipping_cents
    if free_shipping_over_cents is not None and taxable >= free_shipping_over_cents:
        shipping = 0
    return Totals(subtotal, off, tax, shipping, taxable + tax + shipping)
