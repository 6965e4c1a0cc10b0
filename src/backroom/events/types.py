"""The event types of the contract (API.md, "Events, webhooks, streams, GraphQL")."""

from __future__ import annotations

import enum


class EventType(enum.StrEnum):
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DELETED = "product.deleted"
    STOCK_LOW = "stock.low"
    ORDER_CREATED = "order.created"
    ORDER_PAID = "order.paid"
    ORDER_SHIPPED = "order.shipped"
    ORDER_DELIVERED = "order.delivered"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_REFUNDED = "order.refunded"
    IMPORT_FINISHED = "import.finished"


ALL = tuple(t.value for t in EventType)
