"""The order state machine, in one place.

    pending_payment ──pay──▶ paid ──ship──▶ shipped ──deliver──▶ delivered
          │                   │                │                     │
          └──cancel──┐ ┌──cancel (refund)     └──refund──┐ ┌──refund─┘
                     ▼ ▼                                ▼ ▼
                  cancelled                           refunded

Every change is a conditional UPDATE on the status it starts from, so two racing
transitions can't both win (the loser gets 409), and every change writes a
history row with who made it, and records its ``order.<status>`` event in the same
transaction. Cancelling returns the stock to the ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.catalog.models import Product
from backroom.db import begin_write, utcnow
from backroom.errors import Conflict, NotFound, PaymentRequired, Unprocessable
from backroom.events import outbox
from backroom.events.types import EventType
from backroom.inventory import service as inventory
from backroom.inventory.models import Reason
from backroom.orders import service
from backroom.orders.models import Order, OrderEvent, OrderLine, OrderStatus, Payment
from backroom.orders.schemas import OrderRead
from backroom.payments.provider import PROVIDERS, InvalidToken
from backroom.reports import rollup

S = OrderStatus
ALLOWED: dict[OrderStatus, set[OrderStatus]] = {
    S.PENDING_PAYMENT: {S.PAID, S.CANCELLED},
    S.PAID: {S.SHIPPED, S.CANCELLED},
    S.SHIPPED: {S.DELIVERED, S.REFUNDED},
    S.DELIVERED: {S.REFUNDED},
}


_EVENTS = {
    S.PAID: EventType.ORDER_PAID,
    S.SHIPPED: EventType.ORDER_SHIPPED,
    S.DELIVERED: EventType.ORDER_DELIVERED,
    S.CANCELLED: EventType.ORDER_CANCELLED,
    S.REFUNDED: EventType.ORDER_REFUNDED,
}


class InvalidTransition(Conflict):
    code = "invalid_transition"


@dataclass
class Changed:
    order: Order
    stock_versions: dict[uuid.UUID, int] = field(default_factory=dict)


def can(current: str, target: OrderStatus) -> bool:
    return target in ALLOWED.get(OrderStatus(current), set())


async def _load(session: AsyncSession, order_id: uuid.UUID) -> Order:
    order = await session.get(Order, order_id, populate_existing=True)
    if order is None:
        raise NotFound("No such order.")
    return order


async def _move(
    session: AsyncSession, order: Order, target: OrderStatus, actor_id: uuid.UUID | None,
    note: str | None = None, **values: object,
) -> OrderRead:  # fmt: skip
    """Change the status only if it is still what we read; record who did it and
    the event. Returns the order as this transaction now sees it."""
    current = order.status
    if not can(current, target):
        raise InvalidTransition(f"An order that is {current} cannot become {target.value}.")
    now = utcnow()
    result = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == current)
        .values(status=target.value, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise InvalidTransition("The order changed meanwhile; fetch it again.")
    session.add(
        OrderEvent(order_id=order.id, from_status=current, to_status=target.value,
                   actor_id=actor_id, note=note, created_at=now)
    )  # fmt: skip
    if rollup.counts(current) != rollup.counts(target.value):  # into or out of the reports
        paid_at = values.get("paid_at", order.paid_at)
        assert isinstance(paid_at, datetime), "a counted order has been paid"
        sign = 1 if rollup.counts(target.value) else -1
        await rollup.apply(session, order=order, paid_at=paid_at, sign=sign)
    changed = await _load(session, order.id)  # as this transaction now sees it
    document = await service.read(session, changed)
    outbox.record(session, _EVENTS[target], document.model_dump())
    return document


async def pay(
    *, session: AsyncSession, order_id: uuid.UUID, customer_id: uuid.UUID, provider: str,
    token: str, before_commit: service.BeforeCommit | None = None,
) -> Order:  # fmt: skip
    """Charge the order's total. A decline is 402 and the order stays payable. Commits.

    A charge whose transition can't commit (another payment won, or the request's
    Idempotency-Key was taken over: ``before_commit`` raised) is refunded."""
    order = await _load(session, order_id)
    if order.customer_id != customer_id:
        raise NotFound("No such order.")
    if not can(order.status, S.PAID):
        raise InvalidTransition(f"An order that is {order.status} cannot be paid.")
    gateway = PROVIDERS.get(provider)
    if gateway is None:
        raise Unprocessable.field("provider", "unknown payment provider")
    await session.commit()  # no transaction held open across the provider call
    try:
        charge = await gateway.charge(
            amount_cents=order.total_cents, currency=order.currency, token=token,
            idempotency_key=str(order.id),
        )  # fmt: skip
    except InvalidToken:
        raise Unprocessable.field("token", "not a valid payment token") from None
    if not charge.succeeded or charge.reference is None:
        raise PaymentRequired(charge.decline_reason or "The payment was declined.")
    await begin_write(session)
    order = await _load(session, order_id)
    amount = order.total_cents  # read now: a rollback expires the loaded order
    try:
        document = await _move(session, order, S.PAID, customer_id, paid_at=utcnow())
        session.add(Payment(order_id=order.id, provider=provider, reference=charge.reference,
                            amount_cents=amount))  # fmt: skip
        if before_commit is not None:
            await before_commit(document)
    except Conflict:  # another payment or retry won the race: give this charge back
        await session.rollback()
        await gateway.refund(reference=charge.reference, amount_cents=amount)
        raise
    await session.commit()
    return await _load(session, order_id)


async def cancel(
    *, session: AsyncSession, order_id: uuid.UUID, actor_id: uuid.UUID | None, staff: bool,
    note: str | None = None,
) -> Changed:  # fmt: skip
    """Cancel before shipping: stock back to the ledger, a paid order refunded. Commits.

    ``actor_id`` None is the system (the payment-timeout job)."""
    await begin_write(session)
    order = await _load(session, order_id)
    if not staff and order.customer_id != actor_id:
        raise NotFound("No such order.")
    was_paid = order.status == S.PAID
    await _move(session, order, S.CANCELLED, actor_id, note)
    changed = Changed(order)
    # A product deleted since gets nothing back: it can't be sold again, and skipping
    # both the stock and its movement keeps stock equal to the ledger's sum.
    lines = await session.execute(
        select(OrderLine.product_id, OrderLine.quantity)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id, Product.deleted_at.is_(None))
        .order_by(OrderLine.product_id)  # the lock order checkout uses: no deadlocks
    )
    for line in lines:
        applied = await inventory.apply(
            session=session, product_id=line.product_id, delta=line.quantity,
            reason=Reason.CANCELLATION, note=f"order {order.number} cancelled", actor_id=actor_id,
        )  # fmt: skip
        changed.stock_versions[line.product_id] = applied.version
    if was_paid:
        await _refund_payments(session, order)
    await session.commit()
    changed.order = await _load(session, order_id)
    return changed


async def advance(
    *, session: AsyncSession, order_id: uuid.UUID, target: OrderStatus, actor_id: uuid.UUID,
    carrier: str | None = None, tracking_number: str | None = None,
) -> Order:  # fmt: skip
    """Staff moves: ship, deliver, refund (a refund returns the money, not the goods). Commits."""
    await begin_write(session)
    order = await _load(session, order_id)
    values: dict[str, object] = {}
    if target is S.SHIPPED:
        values = {"carrier": carrier, "tracking_number": tracking_number}
    await _move(session, order, target, actor_id, None, **values)
    if target is S.REFUNDED:
        await _refund_payments(session, order)
    await session.commit()
    return await _load(session, order_id)


async def _refund_payments(session: AsyncSession, order: Order) -> None:
    payments = await session.scalars(
        select(Payment).where(Payment.order_id == order.id, Payment.status == "succeeded")
    )
    for payment in payments:
        await PROVIDERS[payment.provider].refund(
            reference=payment.reference, amount_cents=payment.amount_cents
        )
        payment.status, payment.refunded_at = "refunded", utcnow()


async def history(*, session: AsyncSession, order_id: uuid.UUID) -> list[OrderEvent]:
    await _load(session, order_id)
    rows = await session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.created_at)
    )
    return list(rows)
