"""OWASP API Security Top 10 (2023) items that no domain's tests cover on their own;
docs/security.md maps every item to its tests."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from httpx import AsyncClient

from tests.factories import Actors

SRC = Path(__file__).resolve().parent.parent / "src" / "backroom"
# What the API serves outside the OpenAPI document: the document itself, Swagger UI
# and the admin web app (a client of the documented API, not a part of it).
UNDOCUMENTED = {
    "/openapi.json", "/docs", "/docs/init.js", "/docs/assets", "/admin", "/admin/assets",
}  # fmt: skip
SECRET_FIELDS = {
    "password", "password_hash", "tokens_valid_after", "token_hash", "refresh_token_hash",
    "lease_token", "secret_key", "signing_key",
}  # fmt: skip


async def test_api9_every_route_is_in_the_openapi_document(app: FastAPI) -> None:
    documented = set(app.openapi()["paths"])
    served = {ctx.path for ctx in iter_route_contexts(app.routes)}
    assert served - documented == UNDOCUMENTED
    operations = {p for p in documented if not p.startswith("/api/v1/")}
    assert operations == {"/healthz", "/readyz", "/metrics"}  # the unversioned ones


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for item in value for k in _keys(item)}
    return set()


async def test_api3_no_response_carries_a_secret_property(
    client: AsyncClient, actors: Actors
) -> None:
    admin = await actors.admin()
    customer = await actors.customer()
    sign_in = await client.post(
        "/api/v1/auth/token", json={"email": customer.email, "password": customer.password}
    )
    assert set(sign_in.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    responses = [
        await client.get("/api/v1/users/me", headers=customer.headers),
        await client.get("/api/v1/users", headers=admin.headers),
        await client.get(f"/api/v1/users/{customer.id}", headers=admin.headers),
        await client.post(
            "/api/v1/auth/register",
            json={"email": "fresh@example.com", "password": "a-long-password-1", "full_name": "F"},
        ),
        await client.get("/api/v1/orders", headers=customer.headers),
        await client.get("/api/v1/cart", headers=customer.headers),
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.text
        assert not _keys(response.json()) & SECRET_FIELDS, response.request.url


_OUTBOUND_HTTP = {"httpx", "requests", "aiohttp", "urllib.request", "http.client", "urllib3"}


# The only code that may make outbound HTTP: webhook delivery (its address checks are
# tests/webhooks/test_ssrf.py) and the job runtime that owns the delivery client.
_MAY_CALL_OUT = {
    "webhooks/delivery.py",
    "webhooks/urls.py",
    "webhooks/sender.py",
    "jobs/runtime.py",
}


def test_api7_only_webhook_delivery_makes_outbound_http_requests() -> None:
    # A new module importing an HTTP client fails here: it must bring its own SSRF
    # checks (as webhooks did: BACKROOM_WEBHOOK_ALLOW_PRIVATE_URLS, checked at creation
    # and at delivery) before it joins the list above.
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [str(path.relative_to(SRC)) for n in names if n in _OUTBOUND_HTTP]
    assert set(found) - _MAY_CALL_OUT == set()
    assert set(found) >= _MAY_CALL_OUT  # the list stays true
