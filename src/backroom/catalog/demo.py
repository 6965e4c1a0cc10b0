"""A small demo catalog for a fresh install (``make run``), written through the
same services as the API so it obeys every rule (slugs, ledger, search)."""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backroom.catalog import categories, service
from backroom.catalog.models import Category, Product
from backroom.catalog.schemas import CategoryCreate, ProductCreate

Item = tuple[str, str, int, int, dict[str, str | int | float | bool]]
_CATALOG: dict[str, list[Item]] = {
    "Apparel": [
        ("APP-TEE-001", "Organic Cotton T-Shirt", 2_400, 40, {"color": "white", "size": "M"}),
        ("APP-HOOD-002", "Heavyweight Hoodie", 6_500, 15, {"color": "grey", "size": "L"}),
        ("APP-SOCK-003", "Merino Hiking Socks", 1_800, 60, {"size": "M"}),
    ],
    "Kitchen": [
        ("KIT-MUG-001", "Stoneware Mug", 1_600, 25, {"capacity_ml": 350}),
        ("KIT-PRESS-002", "French Press", 3_900, 8, {"capacity_ml": 1000}),
        ("KIT-KNIFE-003", "Chef's Knife", 8_900, 0, {"blade_cm": 20}),
    ],
    "Outdoor": [
        ("OUT-LAMP-001", "Rechargeable Headlamp", 4_500, 12, {"lumens": 300}),
        ("OUT-BOTTLE-002", "Insulated Bottle", 2_900, 30, {"capacity_ml": 750}),
    ],
}


async def seed_if_empty(
    sessionmaker: async_sessionmaker[AsyncSession], actor_id: uuid.UUID, currency: str
) -> int:
    """Create the demo categories and products unless the catalog has any. Returns products made."""
    async with sessionmaker() as session:
        has_any = await session.scalar(select(exists().where(Product.id.is_not(None))))
        has_categories = await session.scalar(select(exists().where(Category.id.is_not(None))))
    if has_any or has_categories:
        return 0
    made = 0
    for category_name, items in _CATALOG.items():
        async with sessionmaker() as session:
            category = await categories.create(
                session=session,
                data=CategoryCreate(
                    name=category_name, description=f"Demo {category_name.lower()}"
                ),
            )
        for sku, name, price, stock, attributes in items:
            data = ProductCreate(
                sku=sku, name=name, price_cents=price, stock=stock, attributes=attributes,
                category_id=str(category.id), description=f"{name} (demo data).",
            )  # fmt: skip
            async with sessionmaker() as session:
                await service.create(
                    session=session, data=data, actor_id=actor_id, currency=currency
                )
            made += 1
    return made
