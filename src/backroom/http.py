"""HTTP details shared by every router: JSON responses, ETags, conditional requests, Link."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import Scope

from backroom.errors import BadRequest, PreconditionFailed, Unprocessable

BaseModelT = TypeVar("BaseModelT", bound=BaseModel)

JSON = "application/json"
JSON_MEDIA_TYPES = ("application/json", "application/merge-patch+json")
NO_STORE = "no-store"


def etag_of(body: bytes) -> str:
    """A strong validator derived from the representation's bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _tags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    tags = _tags(header)
    return "*" in tags or etag in tags


def check_if_match(request: Request, current_etag: str) -> None:
    """Refuse a write made against a representation that has since changed (412)."""
    header = request.headers.get("if-match")
    if header is None:
        return
    tags = {t.strip() for t in header.split(",") if t.strip()}
    if "*" in tags or current_etag in tags:
        return
    raise PreconditionFailed("The resource has changed since you read it; fetch it again.")


def model_bytes(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


def json_response(
    request: Request,
    model: BaseModel,
    *,
    status: int = 200,
    etag: bool = False,
    cache_control: str | None = NO_STORE,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Serialise once with Pydantic; add an ETag and answer 304 when the client has it."""
    body = model_bytes(model)
    out: dict[str, str] = dict(headers or {})
    if cache_control:
        out["Cache-Control"] = cache_control
    if etag:
        tag = etag_of(body)
        out["ETag"] = tag
        if status == 200 and request.method in ("GET", "HEAD") and not_modified(request, tag):
            return Response(status_code=304, headers=out)
    return Response(body, status, headers=out, media_type=JSON)


def created(request: Request, model: BaseModel, location: str, **kwargs: Any) -> Response:
    headers = {"Location": location, **kwargs.pop("headers", {})}
    return json_response(request, model, status=201, headers=headers, **kwargs)


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=204, headers=dict(headers or {}))


def next_link(request: Request, cursor: str | None) -> dict[str, str]:
    if cursor is None:
        return {}
    # The same query with the cursor replaced (built by hand: Starlette's URL
    # rebuilding costs more than the rest of a page's response).
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    query = urlencode([*params, ("cursor", cursor)])
    return {"Link": f'<{quote(request.scope["path"])}?{query}>; rel="next"'}


@dataclass(frozen=True, slots=True)
class _RouteEntry:
    regex: re.Pattern[str]
    methods: frozenset[str]
    template: str
    route_id: int


def _route_table(app: Starlette) -> list[_RouteEntry]:
    """Every route flattened to its full path, built once per app (routes are fixed by then)."""
    table: list[_RouteEntry] | None = getattr(app.state, "route_table", None)
    if table is None:
        table = []
        for ctx in iter_route_contexts(app.routes):
            regex = getattr(ctx, "path_regex", None)
            if regex is None:
                continue
            methods = frozenset(ctx.methods or {"GET"})
            table.append(_RouteEntry(regex, methods, ctx.path or "", id(ctx.original_route)))
        app.state.route_table = table
    return table


def route_template(app: Starlette, route: object) -> str:
    """The full path template of a matched route, for metrics labels."""
    templates: dict[int, str] | None = getattr(app.state, "route_templates", None)
    if templates is None:
        templates = {e.route_id: e.template for e in _route_table(app)}
        app.state.route_templates = templates
    return templates.get(id(route), "<unmatched>")


def allowed_methods(app: Starlette, scope: Scope) -> list[str]:
    """Every method any route on this path accepts, plus HEAD and OPTIONS we add ourselves."""
    path = scope.get("path", "")
    methods: set[str] = set()
    for entry in _route_table(app):
        if entry.regex.match(path):
            methods |= entry.methods
    if not methods:
        return []
    if "GET" in methods:
        methods.add("HEAD")
    methods.add("OPTIONS")
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return sorted(methods, key=lambda m: order.index(m) if m in order else len(order))


def is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def parse_json_body(model: type[BaseModelT], body: bytes) -> BaseModelT:
    """Validate a raw body: 400 for broken JSON, 422 with per-field errors otherwise."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            raise BadRequest("The request body is not valid JSON.") from None
        fields = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or "body",
                "message": "unknown field" if e["type"] == "extra_forbidden" else e["msg"],
            }
            for e in errors
        ]
        raise Unprocessable(
            "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5]), errors=fields
        ) from None


def parse_query(model: type[BaseModelT], request: Request) -> BaseModelT:
    """Validate the query string as FastAPI does for a ``Query()`` model (the last of a
    repeated parameter wins); errors take the app's usual 422 path."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None
