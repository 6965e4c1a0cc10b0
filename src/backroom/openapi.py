"""OpenAPI: every operation documents every status it can return, errors as problem+json."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from backroom.errors import PROBLEM_MEDIA_TYPE

_DESCRIPTIONS = {
    304: "Not Modified: the client's copy (If-None-Match) is current.",
    400: "Malformed request (for example, invalid JSON).",
    401: "Missing, invalid, expired or revoked credentials.",
    402: "The payment was declined.",
    403: "Authenticated, but not allowed.",
    404: "No such resource (or not yours).",
    409: "Conflicts with the current state.",
    412: "If-Match did not match the current ETag.",
    413: "The body is larger than this endpoint accepts.",
    414: "The URI is longer than 8 KiB.",
    415: "The body's Content-Type is not accepted here.",
    422: "The input breaks the schema or a business rule.",
    429: "Rate limited; see Retry-After.",
    431: "The request headers exceed 32 KiB.",
    500: "Unexpected error; quote the request id.",
    503: "Not ready or shedding load; see Retry-After.",
}


class ProblemField(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemField] | None = None
    request_id: str | None = None


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the error statuses specific to it."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        if code == 304:
            out[code] = {"description": _DESCRIPTIONS[code]}
        else:
            out[code] = {
                "description": _DESCRIPTIONS[code],
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            }
    return out


_SCHEME = "OAuth2PasswordBearer"
_SECURITY_SCHEMES = {
    _SCHEME: {
        "type": "oauth2",
        "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
    }
}


def _add_security(operation: dict[str, Any]) -> None:
    # Every operation that can answer 401 takes a bearer token (public reads accept
    # one optionally): this is what Swagger UI's "Authorize" button attaches to.
    if "401" in operation.get("responses", {}):
        operation.setdefault("security", [{_SCHEME: []}])


def _add_universal(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = [414, 429, 431, 500, 503]
    if operation.get("requestBody"):
        codes += [400, 413, 415, 422]
    if operation.get("parameters"):
        codes.append(422)
    for code, spec in problems(*codes).items():
        if code == 422 or str(code) not in responses:
            responses[str(code)] = spec
    responses.pop("default", None)


def _password_bounds(components: dict[str, Any], min_length: int) -> None:
    """New passwords' minimum is configuration, so it is written into the schema here."""
    for name, field in (
        ("RegisterRequest", "password"),
        ("UserCreate", "password"),
        ("PasswordChange", "new_password"),
    ):
        prop = components.get(name, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["minLength"] = min_length


def install(app: FastAPI, *, password_min_length: int) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components.update(components["Problem"].pop("$defs", {}))
        schema["components"].setdefault("securitySchemes", {}).update(_SECURITY_SCHEMES)
        for path, path_item in schema.get("paths", {}).items():
            for operation in path_item.values():
                _add_universal(operation)
                if not path.startswith("/api/v1/auth/"):  # signing in needs no token
                    _add_security(operation)
        _password_bounds(components, password_min_length)
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
