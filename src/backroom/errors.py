"""Errors, and the one place they become ``application/problem+json`` (RFC 9457).

    AppError (500 internal_error)
    ├── BadRequest (400)            ├── Conflict (409)
    ├── Unauthorized (401)          ├── PreconditionFailed (412)
    ├── PaymentRequired (402)       ├── PayloadTooLarge (413)
    ├── Forbidden (403)             ├── UnsupportedMediaType (415)
    ├── NotFound (404)              ├── Unprocessable (422)
    ├── MethodNotAllowed (405)      ├── TooManyRequests (429)
    └── ServiceUnavailable (503)

Services raise these with a ``detail``; the status and a stable ``code`` live on
the class, so a raise is one line. Nothing internal (trace, SQL, path) is ever
rendered: a 500 carries only the request id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("backroom.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class BadRequest(AppError):
    status, code, title = 400, "bad_request", "Bad Request"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", "Bearer")


class PaymentRequired(AppError):
    status, code, title = 402, "payment_required", "Payment Required"


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not Found"


class MethodNotAllowed(AppError):
    status, code, title = 405, "method_not_allowed", "Method Not Allowed"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, code, title = 412, "precondition_failed", "Precondition Failed"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Content Too Large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported Media Type"


class Unprocessable(AppError):
    status, code, title = 422, "validation_error", "Unprocessable Content"

    @classmethod
    def field(cls, field: str, message: str) -> Unprocessable:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too Many Requests"


class ServiceUnavailable(AppError):
    status, code, title = 503, "unavailable", "Service Unavailable"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.headers.setdefault("Retry-After", "5")


_BY_STATUS: dict[int, type[AppError]] = {
    cls.status: cls
    for cls in (
        BadRequest, Unauthorized, PaymentRequired, Forbidden, NotFound, MethodNotAllowed,
        Conflict, PreconditionFailed, PayloadTooLarge, UnsupportedMediaType, Unprocessable,
        TooManyRequests, ServiceUnavailable,
    )
}  # fmt: skip


def problem_body(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    errors: Sequence[Mapping[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return orjson.dumps(body)


def problem_response(error: AppError, request_id: str | None = None) -> Response:
    extra = dict(error.extra)
    if request_id and error.status >= 500:
        extra["request_id"] = request_id
    body = problem_body(
        error.status, error.title, error.detail, error.code, errors=error.errors, extra=extra
    )
    return Response(body, error.status, headers=error.headers, media_type=PROBLEM_MEDIA_TYPE)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _field_name(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(error: Mapping[str, Any]) -> str:
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    return str(error.get("msg", "invalid value"))


async def _on_app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(exc, _request_id(request))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(BadRequest("The request body is not valid JSON."))
    fields = [{"field": _field_name(e.get("loc", ())), "message": _message(e)} for e in errors]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return problem_response(Unprocessable(detail, errors=fields))


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    cls = _BY_STATUS.get(exc.status_code)
    if exc.status_code == 405:
        from backroom.http import allowed_methods

        methods = allowed_methods(request.app, request.scope)
        return problem_response(MethodNotAllowed(headers={"Allow": ", ".join(methods)}))
    if cls is None:
        error = AppError(str(exc.detail))
        error.status = exc.status_code  # type: ignore[misc]
        return problem_response(error, _request_id(request))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != cls.title else None
    return problem_response(cls(detail, headers=exc.headers), _request_id(request))


async def _on_database_unavailable(request: Request, exc: Exception) -> Response:
    # A dropped or unreachable database is an outage, not a bug: tell clients to retry.
    if isinstance(exc, DBAPIError | asyncpg.PostgresError) and not _is_outage(exc):
        return await _on_unexpected(request, exc)
    if isinstance(exc, PoolTimeoutError) or _sqlstate(exc) == _TOO_MANY_CONNECTIONS:
        # Load shedding: every pooled connection stayed busy for the pool timeout (or
        # the server has no connection slot left). Answering now beats queueing
        # without bound; a client may retry soon.
        log.warning("database pool exhausted; request shed")
        return problem_response(
            ServiceUnavailable(
                "The server is too busy right now; retry shortly.", headers={"Retry-After": "2"}
            )
        )
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem_response(ServiceUnavailable("The database is unavailable; retry shortly."))


_TOO_MANY_CONNECTIONS = "53300"
# What PostgreSQL says while it shuts down, restarts or runs out of connection
# slots: admin_shutdown (a fast shutdown or pg_terminate_backend), crash_shutdown,
# cannot_connect_now (starting up or shutting down), too_many_connections, and
# class 08, connection exceptions. They pass once the server is back.
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", _TOO_MANY_CONNECTIONS})


def _sqlstate(exc: Exception) -> str | None:
    # SQLAlchemy keeps the driver's error in .orig; asyncpg's own errors carry it.
    source = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(source, "sqlstate", None)
    return state if isinstance(state, str) else None


def _is_outage(exc: DBAPIError | asyncpg.PostgresError) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return state in _OUTAGE_SQLSTATES or state.startswith("08")
    return isinstance(exc, DBAPIError) and _is_connect(exc)


def _is_connect(exc: DBAPIError) -> bool:
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    markers = (
        "connect", "connection", "closed", "cannot perform operation", "terminat", "unable to open",
        "database is locked",
    )  # fmt: skip
    return any(m in text for m in markers)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Other unexpected errors propagate to ConventionsMiddleware, which renders the 500.
    request_id = _request_id(request)
    log.exception("unhandled error", extra={"request_id": request_id})
    return problem_response(AppError("An unexpected error occurred."), request_id)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(PoolTimeoutError, _on_database_unavailable)
    app.add_exception_handler(DBAPIError, _on_database_unavailable)
    app.add_exception_handler(ConnectionError, _on_database_unavailable)
    app.add_exception_handler(TimeoutError, _on_database_unavailable)
    # The raw asyncpg read path (db.py) sees a killed connection as asyncpg's own
    # errors, not SQLAlchemy's: the same outage, the same 503.
    app.add_exception_handler(asyncpg.exceptions.InterfaceError, _on_database_unavailable)
    app.add_exception_handler(asyncpg.exceptions.InternalClientError, _on_database_unavailable)
    # ... and a server shutting down or out of connection slots as a PostgresError.
    app.add_exception_handler(asyncpg.PostgresError, _on_database_unavailable)
