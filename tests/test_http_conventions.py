"""The conventions of API.md section 2, checked on routes that exist today."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import Actors

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def test_unknown_path_is_problem_404(client: AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/no-such-thing"), 404)
    assert_problem(await client.get("/api/v1/users/me/"), 404)  # no slash redirects


async def test_wrong_method_lists_every_allowed_method(client: AsyncClient) -> None:
    response = await client.put("/api/v1/users")
    assert_problem(response, 405)
    allow = {m.strip() for m in response.headers["allow"].split(",")}
    assert allow == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_options_answers_204_with_allow_and_no_body(client: AsyncClient) -> None:
    response = await client.options("/api/v1/auth/token")
    assert response.status_code == 204
    assert response.headers["allow"] == "POST, OPTIONS"
    assert response.content == b""
    assert "content-length" not in response.headers
    assert_problem(await client.options("/api/v1/nothing-here"), 404)


async def test_head_mirrors_get_without_body(client: AsyncClient, actors: Actors) -> None:
    me = await actors.customer()
    get = await client.get("/api/v1/users/me", headers=me.headers)
    head = await client.head("/api/v1/users/me", headers=me.headers)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"]
    anonymous = await client.head("/api/v1/users/me")
    assert anonymous.status_code == 401 and anonymous.content == b""


async def test_request_id_is_echoed_or_generated(client: AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    too_long = await client.get("/healthz", headers={"X-Request-ID": "x" * 129})
    assert too_long.headers["x-request-id"] != "x" * 129


async def test_security_headers(client: AsyncClient) -> None:
    api = await client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"
    page = await client.get("/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "<script>" not in page.text  # no inline script under a strict CSP


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"email": "a@example.com", ', "application/json", 400),
        (b"\xff\xfe\xfa not utf-8", "application/json", 400),
        (b'{"email": "a@example.com"}', "text/plain", 415),
        (b'{"email": "a@example.com"}', "application/x-www-form-urlencoded", 415),
        (b"[1, 2, 3]", "application/json", 422),
        (b'"just a string"', "application/json", 422),
    ],
)
async def test_bad_bodies_get_clear_errors(
    client: AsyncClient, content: bytes, content_type: str, status: int
) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=content, headers={"Content-Type": content_type}
    )
    assert_problem(response, status)


async def test_body_without_content_type_is_415(client: AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", content=b'{"email": "x"}')
    assert_problem(response, 415)


async def test_unknown_fields_and_wrong_types_are_422_per_field(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "new@example.com",
            "password": 123456789012,
            "full_name": "N",
            "role": "admin",
        },
    )
    body = assert_problem(response, 422)
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert fields["role"] == "unknown field"
    assert "password" in fields


async def test_huge_strings_are_rejected_not_crashed(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "big@example.com", "password": "p" * 5000, "full_name": "n" * 5000},
    )
    assert_problem(response, 422)


async def test_declared_oversized_body_is_413_before_reading(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        content=b"{" + b" " * (1024 * 1024 + 10) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413)


async def test_streamed_oversized_body_is_413(client: AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b" " * 65536

    response = await client.post(
        "/api/v1/auth/register", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)


async def test_long_uri_is_414_and_huge_headers_431(client: AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/users?x=" + "a" * 9000), 414)
    headers = {f"X-Filler-{i}": "v" * 1000 for i in range(40)}
    assert_problem(await client.get("/healthz", headers=headers), 431)


async def test_204_has_no_body_and_no_content_length(client: AsyncClient, actors: Actors) -> None:
    me = await actors.customer()
    response = await client.post("/api/v1/auth/logout", json={"refresh_token": me.refresh_token})
    assert response.status_code == 204
    assert response.content == b""
    assert "content-length" not in response.headers


async def test_unexpected_error_is_500_with_request_id_and_no_internals(
    app: FastAPI, client: AsyncClient
) -> None:
    async def boom() -> None:
        raise RuntimeError("secret internal detail at /srv/app.py")

    app.add_api_route("/boom", boom)
    app.state.route_table = None
    app.state.route_templates = None
    response = await client.get("/boom", headers={"X-Request-ID": "trace-me"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "trace-me"
    assert response.headers["x-request-id"] == "trace-me"
    assert "secret" not in response.text and "Traceback" not in response.text


async def test_cors_preflight_only_for_configured_origins(make_settings) -> None:  # type: ignore[no-untyped-def]
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(cors_origins="https://shop.example"))
    async with LifespanManager(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            preflight = {"Access-Control-Request-Method": "POST"}
            allowed = await http.options(
                "/api/v1/auth/token", headers={"Origin": "https://shop.example", **preflight}
            )
            assert allowed.status_code == 204
            assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
            denied = await http.options(
                "/api/v1/auth/token", headers={"Origin": "https://evil.example", **preflight}
            )
            assert denied.status_code == 204
            assert "access-control-allow-origin" not in denied.headers
            simple = await http.get("/healthz", headers={"Origin": "https://shop.example"})
            assert simple.headers["access-control-allow-origin"] == "https://shop.example"
