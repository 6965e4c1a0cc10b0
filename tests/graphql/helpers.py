from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import event

from backroom.db import Prepared

GRAPHQL = "/api/v1/graphql"
GRAPHQL_RESPONSE = "application/graphql-response+json"

PRODUCT_FIELDS = (
    "id sku slug name description priceCents currency stock categoryId isActive attributes "
    "createdAt updatedAt"
)
CATEGORY_FIELDS = "id name slug parentId description"
ORDER_FIELDS = (
    "id number status customerId subtotalCents discountCents taxCents shippingCents totalCents "
    "currency couponCode shippingAddress createdAt updatedAt paidAt "
    "items { productId sku name unitPriceCents quantity lineTotalCents }"
)
PAGE_INFO = "pageInfo { hasNextPage endCursor }"


async def post(
    client: AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {"query": query, **extra}
    if variables is not None:
        body["variables"] = variables
    return await client.post(GRAPHQL, json=body, headers=headers or {})


async def data(
    client: AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``data`` of a query that must succeed without errors."""
    response = await post(client, query, variables, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def errors(response: Response, status: int = 200) -> list[dict[str, Any]]:
    """The errors of a GraphQL response (not a problem document), with their codes."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(("application/json", GRAPHQL_RESPONSE))
    body = response.json()
    assert body.get("errors"), body
    for error in body["errors"]:
        assert error["message"] and error["extensions"]["code"], error
    return list(body["errors"])


def codes(response: Response, status: int = 200) -> list[str]:
    return [e["extensions"]["code"] for e in errors(response, status)]


def camel(document: dict[str, Any]) -> dict[str, Any]:
    """A REST document with GraphQL's field names (snake_case → camelCase)."""
    return {re.sub(r"_([a-z])", lambda m: m[1].upper(), k): v for k, v in document.items()}


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement run while inside, through SQLAlchemy or straight on the driver."""
    statements: list[str] = []
    engine = app.state.ctx.engine.sync_engine

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    Prepared.observer = statements.append
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
        Prepared.observer = None
