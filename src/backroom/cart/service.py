"""The signed-in user's cart. Prices are live: a cart shows current prices and the
exact order formulas (``backroom.pricing``); items whose product is gone or
unpublished drop out of the view. Writes commit once."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backroom import pricing
from backroom.cart.models import Cart, CartItem
from backroom.cart.schemas import CartLine, CartRead
from backroom.catalog.models import Product
from backroom.config import Settings
from backroom.coupons import service as coupons
from backroom.coupons.models import Coupon
from backroom.db import begin_write, utcnow
from backroom.errors import NotFound, Unprocessable

MAX_LINES = 100


async def view(*, session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> CartRead:
    cart = await session.scalar(select(Cart).where(Cart.user_id == user_id))
    lines: list[CartLine] = []
    coupon: Coupon | None = None
    if cart is not None:
        rows = await session.execute(
            select(Product.id, Product.sku, Product.name, Product.price_cents, CartItem.quantity)
            .join(CartItem, CartItem.product_id == Product.id)
            .where(CartItem.cart_id == cart.id, Product.deleted_at.is_(None), Product.is_active)
            .order_by(CartItem.added_at, Product.id)
        )
        lines = [
            CartLine(product_id=pid, sku=sku, name=name, unit_price_cents=price,
                     quantity=qty, line_total_cents=price * qty)
            for pid, sku, name, price, qty in rows
        ]  # fmt: skip
        if cart.coupon_id is not None:
            coupon = await session.get(Coupon, cart.coupon_id)
    discount = None
    if coupon is not None and coupons.usable(coupon):
        discount = pricing.Discount(
            coupon.percent_off, coupon.amount_off_cents, coupon.min_subtotal_cents
        )
    totals = pricing.totals(
        [line.line_total_cents for line in lines], discount,
        tax_rate_bps=settings.tax_rate_bps, shipping_cents=settings.shipping_cents,
        free_shipping_over_cents=settings.free_shipping_over_cents,
    )  # fmt: skip
    return CartRead(
        items=lines, coupon_code=coupon.code if coupon else None,
        subtotal_cents=totals.subtotal_cents, discount_cents=totals.discount_cents,
        tax_cents=totals.tax_cents, shipping_cents=totals.shipping_cents,
        total_cents=totals.total_cents, currency=settings.currency,
    )  # fmt: skip


async def set_item(
    *, session: AsyncSession, user_id: uuid.UUID, product_id: uuid.UUID, quantity: int
) -> None:
    """Put ``quantity`` of a published product in the cart (replacing any). Commits."""
    await begin_write(session)
    live = await session.scalar(
        select(Product.id).where(
            Product.id == product_id, Product.deleted_at.is_(None), Product.is_active
        )
    )
    if live is None:
        raise NotFound("No such product.")
    cart_id = await _cart_id(session, user_id)
    lines = await session.scalar(
        select(CartItem.product_id)
        .where(CartItem.cart_id == cart_id)
        .offset(MAX_LINES - 1)
        .limit(1)
    )
    present = await session.get(CartItem, (cart_id, product_id))
    if present is None and lines is not None:
        raise Unprocessable.field("product_id", f"a cart holds at most {MAX_LINES} lines")
    insert = _insert(session)(CartItem).values(
        cart_id=cart_id, product_id=product_id, quantity=quantity, added_at=utcnow()
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[CartItem.cart_id, CartItem.product_id], set_={"quantity": quantity}
        )
    )
    await session.commit()


async def remove_item(*, session: AsyncSession, user_id: uuid.UUID, product_id: uuid.UUID) -> None:
    """Take a product out of the cart; 404 if it isn't there. Commits."""
    await begin_write(session)
    cart_id = await session.scalar(select(Cart.id).where(Cart.user_id == user_id))
    result = await session.execute(
        delete(CartItem).where(CartItem.cart_id == cart_id, CartItem.product_id == product_id)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("That product is not in the cart.")
    await session.commit()


async def clear(*, session: AsyncSession, user_id: uuid.UUID) -> None:
    """Empty the cart and drop its coupon. Commits."""
    await begin_write(session)
    cart = await session.scalar(select(Cart).where(Cart.user_id == user_id))
    if cart is not None:
        await session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))
        cart.coupon_id = None
        cart.updated_at = utcnow()
    await session.commit()


async def apply_coupon(*, session: AsyncSession, user_id: uuid.UUID, code: str) -> None:
    """Attach a coupon; unknown, inactive, outside its window or exhausted → 422. Commits."""
    await begin_write(session)
    coupon = await coupons.by_code(session=session, code=code)
    if not coupons.usable(coupon):
        raise Unprocessable.field("code", "unknown, expired or exhausted coupon")
    assert coupon is not None
    cart_id = await _cart_id(session, user_id)
    cart = await session.get(Cart, cart_id)
    assert cart is not None
    cart.coupon_id, cart.updated_at = coupon.id, utcnow()
    await session.commit()


async def remove_coupon(*, session: AsyncSession, user_id: uuid.UUID) -> None:
    await begin_write(session)
    cart = await session.scalar(select(Cart).where(Cart.user_id == user_id))
    if cart is not None:
        cart.coupon_id, cart.updated_at = None, utcnow()
    await session.commit()


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


async def _cart_id(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    """The user's cart, made if missing; safe when two first writes race (ON CONFLICT)."""
    await session.execute(
        _insert(session)(Cart)
        .values(id=uuid.uuid4(), user_id=user_id, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=[Cart.user_id])
    )
    cart_id = await session.scalar(select(Cart.id).where(Cart.user_id == user_id))
    assert cart_id is not None
    return cart_id
