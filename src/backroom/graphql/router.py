"""``POST /api/v1/graphql``: the route is only transport; see ``transport`` and ``schema``."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from backroom.auth.deps import Viewer
from backroom.graphql.schemas import GRAPHQL_RESPONSE, GraphQLRequest, GraphQLResponse, negotiate
from backroom.openapi import problems
from backroom.routing import make_router

router = make_router(prefix="/graphql", tags=["graphql"])

_RESULT = {"schema": {"$ref": "#/components/schemas/GraphQLResponse"}}
_RESPONSES = {
    **problems(401),
    200: {
        "description": "Executed (errors beside data), or, with application/json, refused "
        "before execution (errors only).",
        "content": {GRAPHQL_RESPONSE: _RESULT},
    },
    400: {
        "description": "Refused before execution, with application/graphql-response+json "
        "(errors only); or the body is not valid JSON (problem+json).",
        "content": {
            GRAPHQL_RESPONSE: _RESULT,
            **problems(400)[400]["content"],
        },
    },
}


@router.post("", response_model=GraphQLResponse, responses=_RESPONSES)
async def graphql(body: GraphQLRequest, request: Request, viewer: Viewer) -> Response:
    """Run a read-only GraphQL query (products, categories, your orders); see docs/graphql.md."""
    # Imported here, not at the top: strawberry and graphql-core cost each web worker
    # about 9 MB, for an endpoint many deployments never call (loaded once, then cached).
    from backroom.graphql import context, transport
    from backroom.graphql.schema import schema

    media = negotiate(request.headers.get("accept"))
    result = await transport.execute(schema, body, context.build(request.app.state.ctx, viewer))
    return transport.render(result, media)
