"""The GraphQL schema: read-only root fields over the catalog and the caller's orders."""

from __future__ import annotations

import uuid
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from backroom.errors import Unauthorized
from backroom.graphql import resolvers
from backroom.graphql.context import Context
from backroom.graphql.limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_TOKENS,
    PAGE_DEFAULT,
    QueryCost,
)
from backroom.graphql.types import BigInt, Category, Connection, DateTime, Order, Product

Info = strawberry.Info[Context, None]


@strawberry.type(description="The signed-in user.")
class Me:
    id: strawberry.ID
    role: str

    @strawberry.field
    async def email(self, info: Info) -> str:
        return (await info.context.profiles.load(uuid.UUID(self.id))).email

    @strawberry.field
    async def full_name(self, info: Info) -> str:
        return (await info.context.profiles.load(uuid.UUID(self.id))).full_name

    @strawberry.field(description="Your orders, newest first.")
    async def orders(
        self, info: Info, first: int = PAGE_DEFAULT, after: str | None = None
    ) -> Connection[Order] | None:
        return await resolvers.my_orders(info.context, first=first, after=after)


@strawberry.type
class Query:
    @strawberry.field(
        description="Products, newest first. Without a staff token, active products only."
    )
    async def products(
        self, info: Info, first: int = PAGE_DEFAULT, after: str | None = None,
        q: str | None = None, category_id: strawberry.ID | None = None,
        is_active: bool | None = None,
    ) -> Connection[Product] | None:  # fmt: skip
        return await resolvers.products(
            info.context, first=first, after=after, q=q, category_id=category_id,
            is_active=is_active,
        )  # fmt: skip

    @strawberry.field(description="One product by id or by slug; null if there is none.")
    async def product(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Product | None:
        return await resolvers.product(info.context, id=id, slug=slug)

    @strawberry.field(description="Categories by name.")
    async def categories(
        self, info: Info, first: int = PAGE_DEFAULT, after: str | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> Connection[Category] | None:  # fmt: skip
        return await resolvers.categories(
            info.context, first=first, after=after, parent_id=parent_id
        )

    @strawberry.field(description="The signed-in user; an error without a bearer token.")
    def me(self, info: Info) -> Me | None:
        viewer = info.context.viewer
        if viewer is None:
            raise Unauthorized("Sign in (a bearer token) to read me.")
        return Me(id=strawberry.ID(str(viewer.id)), role=viewer.role.value)


SCALARS = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description="An integer beyond 32 bits (money in minor units), as a JSON number.",
        serialize=int,
        parse_value=int,
    ),
    DateTime: strawberry.scalar(
        name="DateTime",
        description="An RFC 3339 timestamp in UTC, e.g. 2026-11-26T04:00:00Z.",
        serialize=str,
        parse_value=str,
    ),
}


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error, the client's too. Ours are rendered by
        # transport; an unexpected one is re-raised there and logged by the app.
        return None


schema = _Schema(
    query=Query,
    config=StrawberryConfig(scalar_map=SCALARS),  # type: ignore[arg-type]
    extensions=[
        # Strawberry builds an extension per operation from a class or factory.
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        QueryCost,
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
    ],
)
