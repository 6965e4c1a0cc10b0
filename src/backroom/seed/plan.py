"""What one ``backroom seed`` run will make: sizes, the clock and the store's money rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backroom.config import Settings
from backroom.seed.keys import tag_for

SECOND = 1_000_000  # timestamps are integer microseconds since the epoch
HOUR = 3_600 * SECOND
DAY = 24 * HOUR
HISTORY_DAYS = 730  # orders cover the last two years
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Plan:
    seed: int
    products: int
    customers: int
    orders: int
    now_us: int
    currency: str
    tax_rate_bps: int
    shipping_cents: int
    free_shipping_over_cents: int | None
    payment_timeout_us: int
    batch_products: int = 5_000
    batch_customers: int = 10_000
    batch_orders: int = 5_000  # about 45,000 rows with lines, history and payments

    @classmethod
    def build(
        cls, settings: Settings, *, seed: int, products: int, customers: int, orders: int,
        now: datetime | None = None,
    ) -> Plan:  # fmt: skip
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        now_us = (moment - _EPOCH) // timedelta(microseconds=1)
        return cls(
            seed=seed, products=products, customers=customers, orders=orders, now_us=now_us,
            currency=settings.currency, tax_rate_bps=settings.tax_rate_bps,
            shipping_cents=settings.shipping_cents,
            free_shipping_over_cents=settings.free_shipping_over_cents,
            payment_timeout_us=settings.order_payment_timeout_seconds * SECOND,
        )  # fmt: skip

    @property
    def tag(self) -> str:
        return tag_for(self.seed)

    @property
    def start_us(self) -> int:
        """When the order history begins."""
        return self.now_us - HISTORY_DAYS * DAY
