"""Per-request state of a GraphQL operation: who asks, and the data loaders.

A loader collects the keys every resolver of one execution step asks for and
fetches them in one query, so nested fields cost one query per level, not one
per parent. Loaders live for one request only: nothing is cached across callers
with different permissions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from backroom.auth.deps import Principal
from backroom.catalog import queries
from backroom.catalog.documents import parse_uuid
from backroom.context import AppContext
from backroom.graphql.types import Category, OrderLine
from backroom.orders import service as orders
from backroom.users import service as users
from backroom.users.schemas import UserRead


@dataclass(slots=True)
class Context:
    app: AppContext
    viewer: Principal | None
    categories: DataLoader[str, Category | None]
    order_lines: DataLoader[str, list[OrderLine]]
    profiles: DataLoader[uuid.UUID, UserRead]

    @property
    def staff(self) -> bool:
        return self.viewer is not None and self.viewer.is_staff


def build(app: AppContext, viewer: Principal | None) -> Context:
    async def load_categories(keys: list[str]) -> list[Category | None]:
        ids = [parse_uuid(key) for key in keys]
        found = await queries.categories_by_id(
            engine=app.read_engine, ids=[i for i in ids if i is not None]
        )
        return [Category.of(found[i]) if i in found else None for i in ids]

    async def load_order_lines(keys: list[str]) -> list[list[OrderLine]]:
        ids = [uuid.UUID(key) for key in keys]
        # A session of its own, closed as soon as the lines are read: no connection
        # is held while the rest of the operation resolves.
        async with app.sessionmaker() as session:
            lines = await orders.lines_of(session, ids)
            return [[OrderLine.of(line) for line in lines[i]] for i in ids]

    async def load_profiles(keys: list[uuid.UUID]) -> list[UserRead]:
        return [await users.read(engine=app.read_engine, user_id=key) for key in keys]

    return Context(
        app=app,
        viewer=viewer,
        categories=DataLoader(load_fn=load_categories),
        order_lines=DataLoader(load_fn=load_order_lines),
        profiles=DataLoader(load_fn=load_profiles),
    )
