"""GraphQL over HTTP: the request body, content negotiation, status codes, errors.

- The body is ``{query, operationName?, variables?, extensions?}``. It is an
  ordinary JSON body of this API: another ``Content-Type`` is 415, broken JSON
  400, and a body that breaks that shape (a non-string ``query``, an unknown
  key) 422, all as problem+json.
- The response is ``application/graphql-response+json`` when the client's
  ``Accept`` prefers it, else ``application/json``. A request that fails before
  execution (the document does not parse or validate, a limit is exceeded, the
  variables don't fit) has no ``data``; it is 400 with the new media type and
  200 with ``application/json``, as the GraphQL-over-HTTP specification asks.
  Once execution starts the status is 200, with ``errors`` beside ``data``.
- Every error carries ``extensions.code``: an ``AppError``'s own code (the same
  as REST's problem codes) or one of the GraphQL ones below. An unexpected
  exception in a resolver is not turned into a GraphQL error: it is re-raised,
  so the app's handlers answer it as they answer REST (503 for an unreachable
  database, else a 500 that carries only the request id).
"""

from __future__ import annotations

from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.responses import Response
from strawberry.exceptions import MissingQueryError
from strawberry.schema import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from backroom.errors import AppError
from backroom.graphql.context import Context
from backroom.graphql.schemas import GRAPHQL_RESPONSE, GraphQLRequest

_QUERIES_ONLY = (OperationType.QUERY,)
# Messages of strawberry's limit extensions, given a stable code.
_LIMIT_CODES = (
    ("exceeds maximum operation depth", "query_too_deep"),
    ("aliases found. Allowed", "too_many_aliases"),
    ("tokens. Parsing aborted", "too_many_tokens"),
)


async def execute(schema: Schema, request: GraphQLRequest, context: Context) -> ExecutionResult:
    error: GraphQLError
    try:
        return await schema.execute(
            request.query,
            variable_values=request.variables,
            context_value=context,
            operation_name=request.operation_name,
            allowed_operation_types=_QUERIES_ONLY,
        )
    except MissingQueryError:
        error = GraphQLSyntaxError(None, 0, "The query is empty.")  # type: ignore[arg-type]
    except CannotGetOperationTypeError as exc:
        error = GraphQLError(exc.as_http_error_reason())
    except InvalidOperationTypeError:
        error = GraphQLError("Only queries are served here: no mutations or subscriptions.")
    return PreExecutionError(data=None, errors=[error])


def _code(error: GraphQLError, validating: bool) -> str:
    for fragment, code in _LIMIT_CODES:
        if fragment in error.message:
            return code
    if isinstance(error, GraphQLSyntaxError):
        return "graphql_parse_failed"
    # Past validation, an error before any field ran is about the variables.
    return "graphql_validation_failed" if validating else "bad_user_input"


def _formatted(error: GraphQLError, validating: bool) -> dict[str, Any]:
    body: dict[str, Any] = dict(error.formatted)
    original = error.original_error
    extensions = dict(body.get("extensions") or {})
    if isinstance(original, AppError):
        body["message"] = original.detail
        extensions["code"] = original.code
    else:
        extensions.setdefault("code", _code(error, validating))
    body["extensions"] = extensions
    return body


def _raise_unexpected(errors: list[GraphQLError]) -> None:
    """A field error not raised on purpose is a failure of ours (or of the database)."""
    for error in errors:
        if error.path is None:
            continue
        original = error.original_error
        if isinstance(original, AppError):
            continue
        raise original if original is not None else error


def render(result: ExecutionResult, media: str) -> Response:
    errors = list(result.errors or [])
    _raise_unexpected(errors)
    # Executed: data is present, even if null. Refused before execution: no data.
    executed = result.data is not None or any(e.path is not None for e in errors)
    body: dict[str, Any] = {}
    if errors:
        validating = isinstance(result, PreExecutionError)
        body["errors"] = [_formatted(e, validating) for e in errors]
    if executed:
        body["data"] = result.data
    status = 400 if not executed and media == GRAPHQL_RESPONSE else 200
    return Response(
        orjson.dumps(body), status, media_type=media, headers={"Cache-Control": "no-store"}
    )
