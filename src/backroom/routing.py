"""The route class every router uses: JSON bodies must say they are JSON (else 415),
and the hottest reads can be served by a plain ``handler(request)`` (see ``lean``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from backroom.errors import UnsupportedMediaType
from backroom.http import is_json_media_type

LeanHandler = Callable[[Request], Awaitable[Response]]
EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def lean(handler: LeanHandler) -> Callable[[EndpointT], EndpointT]:
    """Serve a route with ``handler(request)`` directly.

    FastAPI's per-request work (solving the dependency graph, validating each
    parameter, two exit stacks) costs more CPU than a cached product read itself.
    For the few hottest GETs, ``handler`` reads the path and query itself; the
    decorated endpoint keeps the documented signature (OpenAPI is built from it)
    and must do the same thing by calling ``handler``. Errors raised by ``handler``
    reach the app's exception handlers as usual.
    """

    def mark(endpoint: EndpointT) -> EndpointT:
        endpoint.__lean__ = handler  # type: ignore[attr-defined]
        return endpoint

    return mark


def _lean_app(handler: LeanHandler) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


class ContractRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        handler: LeanHandler | None = getattr(endpoint, "__lean__", None)
        if handler is not None:
            self.app = _lean_app(handler)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or self._form_body():
            return handler

        async def checked(request: Request) -> Response:
            if _has_body(request) and not is_json_media_type(request.headers.get("content-type")):
                raise UnsupportedMediaType("Send the body as application/json.")
            return await handler(request)

        return checked

    def _form_body(self) -> bool:
        from fastapi import params

        return isinstance(getattr(self.body_field, "field_info", None), params.Form)


API_PREFIX = "/api/v1"


def make_router(*, prefix: str, **kwargs: object) -> APIRouter:
    """An API router whose routes carry their full path (``/api/v1`` + ``prefix``),
    so the app can take them as they are instead of nesting routers."""
    return APIRouter(route_class=ContractRoute, prefix=API_PREFIX + prefix, **kwargs)  # type: ignore[arg-type]
