"""Coupons: staff CRUD, and the lookup carts (and later orders) use. Functions commit once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.coupons.models import Coupon
from backroom.coupons.schemas import CouponCreate
from backroom.db import begin_write, utcnow
from backroom.errors import Conflict, NotFound, Unprocessable

_FIELDS = (
    "code", "percent_off", "amount_off_cents", "min_subtotal_cents", "starts_at", "ends_at",
    "max_redemptions", "is_active",
)  # fmt: skip


def normalize(code: str) -> str:
    return code.strip().upper()


def _check_window(data: CouponCreate) -> None:
    if data.starts_at is not None and data.ends_at is not None and data.ends_at <= data.starts_at:
        raise Unprocessable.field("ends_at", "must be after starts_at")


async def create(*, session: AsyncSession, data: CouponCreate) -> Coupon:
    """Create a coupon; a code taken in any letter case is 409. Commits."""
    _check_window(data)
    await begin_write(session)
    now = utcnow()
    coupon = Coupon(**data.model_dump(), redemptions=0, created_at=now, updated_at=now)
    coupon.code = normalize(data.code)
    session.add(coupon)
    await _commit(session)
    return coupon


async def get(*, session: AsyncSession, coupon_id: uuid.UUID) -> Coupon:
    coupon = await session.get(Coupon, coupon_id)
    if coupon is None:
        raise NotFound("No such coupon.")
    return coupon


async def by_code(*, session: AsyncSession, code: str) -> Coupon | None:
    return await session.scalar(select(Coupon).where(Coupon.code == normalize(code)))


async def list_(
    *, session: AsyncSession, limit: int, after: Sequence[Any] | None
) -> tuple[list[Coupon], list[Any] | None]:
    stmt = select(Coupon)
    if after is not None:
        stmt = stmt.where(tuple_(Coupon.code, Coupon.id) > tuple_(*after))
    rows = list(
        (await session.execute(stmt.order_by(Coupon.code, Coupon.id).limit(limit + 1))).scalars()
    )
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], [last.code, str(last.id)]


async def patch(*, session: AsyncSession, coupon_id: uuid.UUID, changes: dict[str, Any]) -> Coupon:
    """Merge the changes and re-validate the whole coupon. ``redemptions`` is read-only. Commits."""
    await begin_write(session)
    coupon = await get(session=session, coupon_id=coupon_id)
    await session.refresh(coupon)
    merged = {field: getattr(coupon, field) for field in _FIELDS} | changes
    try:
        data = CouponCreate.model_validate(merged)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise Unprocessable(errors[0]["message"], errors=errors) from None
    _check_window(data)
    for field in _FIELDS:
        setattr(coupon, field, getattr(data, field))
    coupon.code = normalize(data.code)
    coupon.updated_at = utcnow()
    await _commit(session)
    return coupon


async def delete(*, session: AsyncSession, coupon_id: uuid.UUID) -> None:
    """Delete a coupon; carts holding it simply lose it. Commits."""
    await begin_write(session)
    coupon = await get(session=session, coupon_id=coupon_id)
    await session.delete(coupon)
    await session.commit()


def usable(coupon: Coupon | None, now: datetime | None = None) -> bool:
    return coupon is not None and coupon.usable_at(now or utcnow())


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise Conflict("A coupon with this code already exists.", extra={"field": "code"}) from None
