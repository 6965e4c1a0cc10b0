"""The route class every router uses: JSON bodies must say they are JSON (else 415)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from backroom.errors import UnsupportedMediaType
from backroom.http import is_json_media_type


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


class ContractRoute(APIRoute):
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
