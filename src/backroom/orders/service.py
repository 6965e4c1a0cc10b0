"""Placing and reading orders. Placement is one transaction: snapshot the lines,
price them with ``backroom.pricing``, count the coupon's redemption and take the
stock of every line through the ledger, or do none of it."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, delete, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from backroom import pricing
from backroom.cart.models import Cart, CartItem
from backroom.catalog.models import Product
from backroom.config import Settings
from backroom.coupons import service as coupons
from backroom.coupons.models import Coupon
from backroom.db import begin_write, new_id, utcnow
from backroom.errors import Conflict, NotFound, Unprocessable
from backroom.events import outbox
from backroom.events.types import EventType
from backroom.inventory import service as inventory
from backroom.inventory.models import Reason
from backroom.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from backroom.orders.schemas import OrderCreate, OrderRead

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone

# Called with the order as the response shows it, in the use case's transaction before
# its COMMIT: an Idempotency-Key's answer is recorded there, with the effects, and a
# request whose key was taken over by a retry raises, so its effects roll back.
BeforeCommit = Callable[[OrderRead], Awaitable[None]]


class OutOfStock(Conflict):
    code = "out_of_stock"


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    # product id -> the version its stock change committed (for the product cache)
    stock_versions: dict[uuid.UUID, int]
    # The order as the API shows it (also the event's data): no re-read needed.
    document: OrderRead


@dataclass(frozen=True, slots=True)
class Filters:
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    customer_id: uuid.UUID | None = None


def _number() -> str:
    return "BR-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))


async def place(
    *, session: AsyncSession, customer_id: uuid.UUID, data: OrderCreate, settings: Settings,
    before_commit: BeforeCommit | None = None,
) -> Placed:  # fmt: skip
    """Place an order from explicit items or from the cart (which is then emptied);
    records ``order.created`` (and ``stock.low`` for lines that crossed it). Commits.

    Nine round trips for one line (``tests/orders/test_statements.py``): the
    products read; the order, its lines, its history and its event inserted;
    then the stock taken last (one conditional UPDATE per line), so a hot
    product's row lock is held only for the ledger insert and the COMMIT. With an
    Idempotency-Key, ``before_commit`` records its answer just before the stock is
    taken (one more statement, not under that lock)."""
    await begin_write(session)
    cart = None
    if data.items is None:  # the cart matters only when ordering from it
        cart = await session.scalar(select(Cart).where(Cart.user_id == customer_id))
    wanted = await _wanted(session, data, cart)
    products = await _products(session, list(wanted))
    lines = [(products[pid], qty) for pid, qty in wanted.items()]
    code = data.coupon_code
    if code is None and data.items is None and cart is not None and cart.coupon_id is not None:
        cart_coupon = await session.get(Coupon, cart.coupon_id)
        code = cart_coupon.code if cart_coupon and coupons.usable(cart_coupon) else None
    coupon = await _coupon(session, code, sum(p.price_cents * q for p, q in lines))
    order, rows = _order(customer_id, data, lines, coupon, settings)
    history = OrderEvent(
        id=new_id(), order_id=order.id, from_status=None, to_status=order.status, note=None,
        actor_id=customer_id, created_at=order.created_at,
    )  # fmt: skip
    document = OrderRead.of(order, rows)
    outbox.record(session, EventType.ORDER_CREATED, document.model_dump())
    await _insert(session, order, rows, history)  # all of it before any stock row is locked
    await outbox.write_now(session)
    if before_commit is not None:  # rolled back with the rest if the stock is short
        await before_commit(document)
    versions = await _take_stock(session, order, lines, customer_id, order.created_at, settings)
    if cart is not None:
        await session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))
        cart.coupon_id = None
    await session.commit()
    return Placed(order, versions, document)


class _Item(NamedTuple):
    """What an order line needs of its product."""

    id: uuid.UUID
    sku: str
    name: str
    price_cents: int


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


# Core INSERTs of objects the session never tracks: a profile of checkout showed
# the ORM's unit of work (flush) costing more CPU than the statements themselves.
# The objects still build the response; nothing reads them back from the session.
_INSERT_ORDER, _INSERT_LINE, _INSERT_HISTORY = (
    insert(_table(model)) for model in (Order, OrderLine, OrderEvent)
)


def _values(obj: Order | OrderLine | OrderEvent) -> dict[str, Any]:
    return {column.key: getattr(obj, column.key) for column in _table(type(obj)).columns}


async def _insert(
    session: AsyncSession, order: Order, lines: list[OrderLine], history: OrderEvent
) -> None:
    await session.execute(_INSERT_ORDER, [_values(order)])
    await session.execute(_INSERT_LINE, [_values(line) for line in lines])
    await session.execute(_INSERT_HISTORY, [_values(history)])


def _order(
    customer_id: uuid.UUID, data: OrderCreate, lines: list[tuple[_Item, int]],
    coupon: Coupon | None, settings: Settings,
) -> tuple[Order, list[OrderLine]]:  # fmt: skip
    """The order and its lines, priced with the contract's formulas."""
    discount = (
        pricing.Discount(coupon.percent_off, coupon.amount_off_cents, coupon.min_subtotal_cents)
        if coupon else None
    )  # fmt: skip
    totals = pricing.totals(
        [p.price_cents * q for p, q in lines], discount, tax_rate_bps=settings.tax_rate_bps,
        shipping_cents=settings.shipping_cents,
        free_shipping_over_cents=settings.free_shipping_over_cents,
    )  # fmt: skip
    now = utcnow()
    order = Order(
        id=uuid.uuid4(), number=_number(), status=OrderStatus.PENDING_PAYMENT.value,
        customer_id=customer_id, subtotal_cents=totals.subtotal_cents,
        discount_cents=totals.discount_cents, tax_cents=totals.tax_cents,
        shipping_cents=totals.shipping_cents, total_cents=totals.total_cents,
        currency=settings.currency, coupon_id=coupon.id if coupon else None,
        coupon_code=coupon.code if coupon else None,
        shipping_address=data.shipping_address.model_dump(), created_at=now, updated_at=now,
        paid_at=None,
    )  # fmt: skip
    rows = [
        OrderLine(id=uuid.uuid4(), order_id=order.id, position=i, product_id=p.id, sku=p.sku,
                  name=p.name, unit_price_cents=p.price_cents, quantity=q,
                  line_total_cents=p.price_cents * q)
        for i, (p, q) in enumerate(lines)
    ]  # fmt: skip
    return order, rows


async def _wanted(
    session: AsyncSession, data: OrderCreate, cart: Cart | None
) -> dict[uuid.UUID, int]:
    """product id → quantity, from the request or the cart, in order."""
    wanted: dict[uuid.UUID, int] = {}
    if data.items is not None:
        for i, item in enumerate(data.items):
            try:
                pid = uuid.UUID(item.product_id)
            except ValueError:
                raise Unprocessable.field(f"items.{i}.product_id", "no such product") from None
            if pid in wanted:
                raise Unprocessable.field(f"items.{i}.product_id", "listed twice")
            wanted[pid] = item.quantity
        return wanted
    if cart is not None:
        rows = await session.execute(
            select(CartItem.product_id, CartItem.quantity)
            .where(CartItem.cart_id == cart.id)
            .order_by(CartItem.added_at, CartItem.product_id)
        )
        wanted = {pid: qty for pid, qty in rows}
    if not wanted:
        raise Unprocessable.field("items", "the cart is empty; send items or fill the cart")
    return wanted


async def _products(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, _Item]:
    # Columns, not entities: the lines need four of them, and loading ORM objects
    # (identity map, every column decoded) was a tenth of a checkout's CPU.
    rows = await session.execute(
        select(Product.id, Product.sku, Product.name, Product.price_cents).where(
            Product.id.in_(ids), Product.deleted_at.is_(None), Product.is_active
        )
    )
    found = {row.id: _Item(*row) for row in rows}
    missing = [str(pid) for pid in ids if pid not in found]
    if missing:
        raise Unprocessable(
            "Some products are not for sale.",
            errors=[{"field": "items", "message": m} for m in missing],
        )
    return found


async def _coupon(session: AsyncSession, code: str | None, subtotal: int) -> Coupon | None:
    """The coupon to apply, with its redemption counted, or None when none applies."""
    if code is None:
        return None
    coupon = await coupons.by_code(session=session, code=code)
    if coupon is None or not coupons.usable(coupon):
        raise Unprocessable.field("coupon_code", "unknown, expired or exhausted coupon")
    if subtotal < coupon.min_subtotal_cents:
        raise Unprocessable.field("coupon_code", "the order is below the coupon's minimum")
    # Counted with a conditional UPDATE: under any concurrency, never past the limit.
    counted = await session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            or_(Coupon.max_redemptions.is_(None), Coupon.redemptions < Coupon.max_redemptions),
        )
        .values(redemptions=Coupon.redemptions + 1)
        .execution_options(synchronize_session=False)
    )
    if not getattr(counted, "rowcount", 0):
        raise Unprocessable.field("coupon_code", "unknown, expired or exhausted coupon")
    return coupon


async def _take_stock(
    session: AsyncSession, order: Order, lines: list[tuple[_Item, int]],
    actor_id: uuid.UUID, now: datetime, settings: Settings,
) -> dict[uuid.UUID, int]:  # fmt: skip
    """Take every line's stock with its ledger movement, or raise 409 naming every
    product that is short. A short line changes nothing (its UPDATE matched no
    row), so no savepoint is needed to find them all; the rollback undoes the rest."""
    short: list[str] = []
    versions: dict[uuid.UUID, int] = {}
    # Rows are locked in product-id order, the same in every checkout and cancel, so
    # two orders holding the same products in different orders can't deadlock.
    for product, quantity in sorted(lines, key=lambda line: line[0].id):
        changed = await inventory.take(
            session, product.id, quantity, reason=Reason.ORDER, note=f"order {order.number}",
            actor_id=actor_id, now=now, low_stock_threshold=settings.low_stock_threshold,
        )  # fmt: skip
        if changed is None:
            short.append(str(product.id))
        else:
            versions[product.id] = changed.version
    if short:
        await session.rollback()
        raise OutOfStock("Not enough stock for some products.", extra={"product_ids": short})
    return versions


async def get(
    *, session: AsyncSession, order_id: uuid.UUID, viewer_id: uuid.UUID, staff: bool
) -> Order:
    """An order its owner or staff may see; anyone else gets 404 (existence not revealed)."""
    order = await session.get(Order, order_id)
    if order is None or (not staff and order.customer_id != viewer_id):
        raise NotFound("No such order.")
    return order


async def read(session: AsyncSession, order: Order) -> OrderRead:
    """The order as the API shows it (``model_dump()``: the ``data`` of ``order.*`` events)."""
    lines = await lines_of(session, [order.id])
    return OrderRead.of(order, lines[order.id])


async def lines_of(
    session: AsyncSession, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OrderLine]]:
    """The lines of many orders in one query (no N+1 on listings)."""
    result: dict[uuid.UUID, list[OrderLine]] = {oid: [] for oid in order_ids}
    if order_ids:
        rows = await session.scalars(
            select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.position)
        )
        for line in rows:
            result[line.order_id].append(line)
    return result


async def list_(
    *, session: AsyncSession, viewer_id: uuid.UUID, staff: bool, filters: Filters,
    limit: int, after: Sequence[Any] | None,
) -> tuple[list[Order], list[Any] | None]:  # fmt: skip
    """Newest first. Customers see only their own orders."""
    stmt = select(Order)
    if not staff:
        stmt = stmt.where(Order.customer_id == viewer_id)
    elif filters.customer_id is not None:
        stmt = stmt.where(Order.customer_id == filters.customer_id)
    if filters.status is not None:
        stmt = stmt.where(Order.status == filters.status)
    if filters.created_from is not None:
        stmt = stmt.where(Order.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Order.created_at <= filters.created_to)
    if after is not None:
        stmt = stmt.where(tuple_(Order.created_at, Order.id) < tuple_(*after))
    stmt = stmt.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1)
    rows = list((await session.execute(stmt)).scalars())
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], keyset_of(rows[limit - 1])


def keyset_of(order: Order) -> list[Any]:
    """The cursor values of an order in the newest-first listing."""
    return [order.created_at.isoformat(), str(order.id)]
