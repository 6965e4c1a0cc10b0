"""The outermost ASGI layer: what every request gets, whatever route it reaches.

The client address behind trusted proxies, request ids, size limits decided
before the body is read (413/414/431), HEAD and OPTIONS for every route,
security headers, one JSON access-log line and the request metrics. Written
as plain ASGI (not BaseHTTPMiddleware) because it runs on every request and
must not buffer or copy bodies.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backroom.config import Settings
from backroom.errors import PROBLEM_MEDIA_TYPE, AppError, problem_body, problem_response
from backroom.http import allowed_methods, route_template
from backroom.ops import metrics
from backroom.proxies import TrustedProxies

access_log = logging.getLogger("backroom.access")
log = logging.getLogger("backroom.errors")

MAX_URI_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
_IMPORT_PREFIX = "/api/v1/imports"
_CORS_ALLOW_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, "
    "X-Request-ID, Last-Event-ID"
)
_HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
# Everything else is data: nothing in it may load, run or be framed (OWASP REST advice).
_API_CSP = "default-src 'none'; frame-ancestors 'none'"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is larger than this endpoint accepts.")


class ConventionsMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.cors_origins = set(settings.cors_origin_list)
        self.proxies = TrustedProxies(settings.trusted_proxy_list)
        self.hsts = f"max-age={settings.hsts_max_age_seconds}" if settings.hsts != "off" else None
        self.hsts_always = settings.hsts == "always"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.proxies:
            self.proxies.apply(scope)  # first: the limiter and the log use the result
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        state: dict[str, Any] = {"status": 500}
        send = self._wrap_send(scope, send, request_id, state)
        if scope["method"] == "HEAD":
            # The app answers HEAD as GET (the body is dropped in _wrap_send), on a copy:
            # the server must still see HEAD, or it waits for a body it will never get.
            scope = {**scope, "method": "GET"}
        try:
            await self._dispatch(scope, receive, send)
        finally:
            self._record(scope, request_id, state, time.perf_counter() - started)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        rejection = self._reject_oversized(scope)
        if rejection is not None:
            await _send_problem(send, *rejection)
            return
        if scope["method"] == "OPTIONS":
            await self._options(scope, send)
            return
        limit = self._body_limit(scope)
        started: list[bool] = []

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.append(True)
            await send(message)

        try:
            await self.app(scope, _limited_receive(receive, limit), tracking_send)
        except Exception:
            request_id = scope["state"]["request_id"]
            log.exception("unhandled error", extra={"request_id": request_id})
            if started:
                raise
            response = problem_response(AppError("An unexpected error occurred."), request_id)
            await response(scope, receive, send)

    def _body_limit(self, scope: Scope) -> int:
        if scope["path"].startswith(_IMPORT_PREFIX):
            return self.settings.import_body_limit_bytes
        return self.settings.json_body_limit_bytes

    def _reject_oversized(self, scope: Scope) -> tuple[int, str, str, str] | None:
        if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > MAX_URI_BYTES:
            return 414, "URI Too Long", "The request URI exceeds 8 KiB.", "uri_too_long"
        headers = scope["headers"]
        if sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEADER_BYTES:
            return (
                431,
                "Request Header Fields Too Large",
                "The request headers exceed 32 KiB.",
                "headers_too_large",
            )
        for key, value in headers:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return 400, "Bad Request", "Invalid Content-Length.", "bad_request"
                if declared > self._body_limit(scope):
                    return (
                        413,
                        "Content Too Large",
                        "The request body is larger than this endpoint accepts.",
                        "payload_too_large",
                    )
        return None

    async def _options(self, scope: Scope, send: Send) -> None:
        from starlette.applications import Starlette

        app = scope.get("app")
        methods = allowed_methods(app, scope) if isinstance(app, Starlette) else []
        if not methods:
            await _send_problem(send, 404, "Not Found", "No such resource.", "not_found")
            return
        headers = MutableHeaders(raw=[])
        headers["Allow"] = ", ".join(methods)
        origin = _header(scope, b"origin")
        if origin and origin in self.cors_origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Methods"] = ", ".join(methods)
            headers["Access-Control-Allow-Headers"] = _CORS_ALLOW_HEADERS
            headers["Access-Control-Max-Age"] = "600"
            headers["Vary"] = "Origin"
        await send({"type": "http.response.start", "status": 204, "headers": headers.raw})
        await send({"type": "http.response.body", "body": b""})

    def _wrap_send(self, scope: Scope, send: Send, request_id: str, state: dict[str, Any]) -> Send:
        state["method"] = scope["method"]
        is_head = scope["method"] == "HEAD"
        if is_head:  # endless responses (the event stream) answer HEAD without a body
            scope["state"]["head"] = True
        personal = _header(scope, b"authorization") is not None
        hsts = self.hsts if self.hsts_always or scope.get("scheme") == "https" else None

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                if headers.get("content-type", "").startswith("text/html"):
                    # A page that brings its own (stricter) policy keeps it: /admin.
                    headers.setdefault("Content-Security-Policy", _HTML_CSP)
                    headers["X-Frame-Options"] = "DENY"
                else:
                    headers.setdefault("Content-Security-Policy", _API_CSP)
                if hsts is not None:
                    headers.append("Strict-Transport-Security", hsts)
                if personal and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"  # never cache what a token unlocked
                if status in (204, 304) and "content-length" in headers:
                    del headers["content-length"]
            elif message["type"] == "http.response.body" and (
                is_head or state["status"] in (204, 304)
            ):
                message = {**message, "body": b""}
            await send(message)

        return wrapped

    def _record(self, scope: Scope, request_id: str, state: dict[str, Any], elapsed: float) -> None:
        app = scope.get("app")
        route = scope.get("route")
        template = (
            route_template(app, route) if route is not None and app is not None else "<unmatched>"
        )
        status = state["status"]
        method = str(state.get("method") or scope["method"])
        metrics.observe_request(template, method, status, elapsed)
        if self.settings.access_log:
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": scope["path"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client": client[0] if client else None,
                },
            )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def _limited_receive(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return wrapped


async def _send_problem(send: Send, status: int, title: str, detail: str, code: str) -> None:
    body = problem_body(status, title, detail, code)
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if status in (413, 414, 431, 400):
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
