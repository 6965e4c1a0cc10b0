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


# The modules that may import an HTTP client: the webhook sender (the one place a
# request goes out), the URL policy (httpx.URL parses), the job runtime (it owns
# the sender's client) and the delivery loop (it hands that client to the sender).
# Anything new must come with its own address checks.
_MAY_IMPORT_HTTP = {
    "webhooks/sender.py", "webhooks/urls.py", "jobs/runtime.py", "webhooks/delivery.py",
}  # fmt: skip


def test_api7_only_webhook_deliveries_make_outbound_requests() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [str(path.relative_to(SRC)) for n in names if n in _OUTBOUND_HTTP]
    assert set(found) <= _MAY_IMPORT_HTTP, found
    # The sender checks the target against the SSRF policy before every request
    # (the behaviour: tests/webhooks/test_ssrf.py).
    sender = ast.parse((SRC / "webhooks" / "sender.py").read_text())
    send = next(
        n for n in ast.walk(sender) if isinstance(n, ast.AsyncFunctionDef) and n.name == "send"
    )
    calls = [ast.unparse(n.func) for n in ast.walk(send) if isinstance(n, ast.Call)]
    assert calls.index("urls.resolve") < calls.index("http.stream")
