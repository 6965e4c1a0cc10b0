"""Unpaid orders are cancelled after ``BACKROOM_ORDER_PAYMENT_TIMEOUT_SECONDS``.

Each order is cancelled through the state machine in its own transaction, so
the stock goes back through the ledger and several instances running this at
once can't both cancel one order: the loser's conditional UPDATE finds it
already cancelled (or paid a moment ago) and skips it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backroom.catalog.cache import ProductCache, tombstone
from backroom.db import utcnow
from backroom.errors import Conflict, NotFound
from backroom.orders import lifecycle
from backroom.orders.models import Order, OrderStatus

log = logging.getLogger("backroom.orders")

BATCH = 200


async def expire_unpaid(
    sessionmaker: async_sessionmaker[AsyncSession],
    cache: ProductCache,
    timeout_seconds: int,
) -> int:
    """Cancel up to ``BATCH`` overdue unpaid orders, oldest first; returns how many."""
    cutoff = utcnow() - timedelta(seconds=timeout_seconds)
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Order.id)
                .where(Order.status == OrderStatus.PENDING_PAYMENT.value, Order.created_at < cutoff)
                .order_by(Order.created_at)
                .limit(BATCH)
            )
        )
    expired = 0
    for order_id in ids:
        async with sessionmaker() as session:
            try:
                changed = await lifecycle.cancel(
                    session=session, order_id=order_id, actor_id=None, staff=True,
                    note="payment timeout",
                )  # fmt: skip
            except (Conflict, NotFound):
                continue  # paid, or cancelled by someone else, meanwhile
        for product_id, version in changed.stock_versions.items():
            await cache.offer(product_id, tombstone(version))
        expired += 1
    if expired:
        log.info("cancelled %d unpaid orders past the payment timeout", expired)
    return expired
