"""The GraphQL endpoint's HTTP body and response shapes, and content negotiation:
kept apart from ``transport`` so the route can be declared (and documented)
without importing strawberry, which the web workers load on the first query."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StrictStr

from backroom.http import JSON
from backroom.schema import InputModel

GRAPHQL_RESPONSE = "application/graphql-response+json"


class GraphQLRequest(InputModel):
    query: Annotated[StrictStr, Field(description="The GraphQL document.")]
    operation_name: Annotated[
        StrictStr | None, Field(alias="operationName", description="Which operation to run.")
    ] = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None


class GraphQLErrorBody(BaseModel):
    message: str
    locations: list[dict[str, int]] | None = None
    path: list[str | int] | None = None
    extensions: dict[str, Any] | None = None


class GraphQLResponse(BaseModel):
    errors: list[GraphQLErrorBody] | None = None
    data: dict[str, Any] | None = None


def negotiate(accept: str | None) -> str:
    """``application/graphql-response+json`` only when asked for at least as strongly
    as ``application/json``; a missing header or ``*/*`` gets ``application/json``."""
    weights: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    wanted = weights.get(GRAPHQL_RESPONSE, 0.0)
    return GRAPHQL_RESPONSE if wanted > 0 and wanted >= weights.get(JSON, 0.0) else JSON
