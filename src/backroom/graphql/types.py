"""The GraphQL object types. Fields mirror the REST representations (camelCase);
nested objects are resolved through the request's data loaders, never one query
per parent."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, NewType, TypeVar

import orjson
import strawberry
from strawberry.scalars import JSON

if TYPE_CHECKING:
    from backroom.graphql.context import Context
    from backroom.orders.models import Order as OrderRow
    from backroom.orders.models import OrderLine as OrderLineRow

T = TypeVar("T")

# Money in minor units can pass GraphQL's 32-bit Int (an order of 100 lines at
# the maximum price does), so every *Cents field is a BigInt: a JSON number,
# exact up to 2^53.
BigInt = NewType("BigInt", int)
# The same RFC 3339 UTC text REST sends ("2026-11-26T04:00:00Z").
DateTime = NewType("DateTime", str)


def rfc3339(value: datetime | str) -> DateTime:
    """A timestamp as REST writes it (orjson, UTC with ``Z``), whichever form it came in."""
    if isinstance(value, str):
        return DateTime(value)
    return DateTime(orjson.dumps(value, option=orjson.OPT_UTC_Z).decode()[1:-1])


def _id(value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="Relay page information (forward pagination only).")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = strawberry.field(
        default=False, description="Always false: pages are walked forwards with `after`."
    )
    start_cursor: str | None = None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, pairs: list[tuple[str, T]], has_next_page: bool) -> Connection[T]:
        """A page from ``(cursor, node)`` pairs in order."""
        edges = [Edge(cursor=cursor, node=node) for cursor, node in pairs]
        info = PageInfo(
            has_next_page=has_next_page,
            end_cursor=edges[-1].cursor if edges else None,
            start_cursor=edges[0].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info)


@strawberry.type
class Category:
    id: strawberry.ID
    name: str
    slug: str
    parent_id: strawberry.ID | None
    description: str

    @strawberry.field(description="The parent category, if any.")
    async def parent(self, info: strawberry.Info[Context, None]) -> Category | None:
        if self.parent_id is None:
            return None
        return await info.context.categories.load(str(self.parent_id))

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Category:
        """From the REST document of a category (``catalog.documents``)."""
        return cls(
            id=strawberry.ID(str(document["id"])),
            name=document["name"],
            slug=document["slug"],
            parent_id=_id(document["parent_id"]),
            description=document["description"],
        )


@strawberry.type
class Product:
    id: strawberry.ID
    sku: str
    slug: str
    name: str
    description: str
    price_cents: BigInt
    currency: str
    stock: int
    category_id: strawberry.ID | None
    is_active: bool
    attributes: JSON
    created_at: DateTime
    updated_at: DateTime

    @strawberry.field(description="The product's category, if any.")
    async def category(self, info: strawberry.Info[Context, None]) -> Category | None:
        if self.category_id is None:
            return None
        return await info.context.categories.load(str(self.category_id))

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Product:
        """From the REST document of a product: the same values REST sends."""
        return cls(
            id=strawberry.ID(str(document["id"])),
            sku=document["sku"],
            slug=document["slug"],
            name=document["name"],
            description=document["description"],
            price_cents=BigInt(document["price_cents"]),
            currency=document["currency"],
            stock=document["stock"],
            category_id=_id(document["category_id"]),
            is_active=document["is_active"],
            attributes=JSON(document["attributes"]),
            created_at=rfc3339(document["created_at"]),
            updated_at=rfc3339(document["updated_at"]),
        )


@strawberry.type(description="A line of an order: what was bought, frozen at checkout.")
class OrderLine:
    product_id: strawberry.ID
    sku: str
    name: str
    unit_price_cents: BigInt
    quantity: int
    line_total_cents: BigInt

    @classmethod
    def of(cls, line: OrderLineRow) -> OrderLine:
        return cls(
            product_id=strawberry.ID(str(line.product_id)), sku=line.sku, name=line.name,
            unit_price_cents=BigInt(line.unit_price_cents), quantity=line.quantity,
            line_total_cents=BigInt(line.line_total_cents),
        )  # fmt: skip


@strawberry.type
class Order:
    id: strawberry.ID
    number: str
    status: str
    customer_id: strawberry.ID
    subtotal_cents: BigInt
    discount_cents: BigInt
    tax_cents: BigInt
    shipping_cents: BigInt
    total_cents: BigInt
    currency: str
    coupon_code: str | None
    shipping_address: JSON
    created_at: DateTime
    updated_at: DateTime
    paid_at: DateTime | None

    @strawberry.field(description="The order's lines, in the order they were placed.")
    async def items(self, info: strawberry.Info[Context, None]) -> list[OrderLine]:
        return await info.context.order_lines.load(str(self.id))

    @classmethod
    def of(cls, order: OrderRow) -> Order:
        return cls(
            id=strawberry.ID(str(order.id)), number=order.number, status=order.status,
            customer_id=strawberry.ID(str(order.customer_id)),
            subtotal_cents=BigInt(order.subtotal_cents),
            discount_cents=BigInt(order.discount_cents), tax_cents=BigInt(order.tax_cents),
            shipping_cents=BigInt(order.shipping_cents), total_cents=BigInt(order.total_cents),
            currency=order.currency, coupon_code=order.coupon_code,
            shipping_address=JSON(order.shipping_address), created_at=rfc3339(order.created_at),
            updated_at=rfc3339(order.updated_at),
            paid_at=rfc3339(order.paid_at) if order.paid_at is not None else None,
        )  # fmt: skip
