from __future__ import annotations

import time

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from backroom.main import create_app
from backroom.migrations_support import alembic_head, head_revision
from tests.catalog.helpers import product_payload
from tests.factories import Actors
from tests.orders.test_place import ADDRESS
from tests.test_http_conventions import assert_problem


async def test_healthz(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_and_redis(client: AsyncClient, settings) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert ("redis" in checks) == (settings.redis_url is not None)


@pytest.mark.parametrize(
    "broken",
    [
        {"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"},
        {"database_url": "sqlite+aiosqlite:////nonexistent-dir/x/backroom.sqlite3"},
        {"redis_url": "redis://127.0.0.1:1/0"},
    ],
)
async def test_unreachable_dependency_is_503_fast(make_settings, broken) -> None:  # type: ignore[no-untyped-def]
    application = create_app(make_settings(**broken))
    async with LifespanManager(application):
        transport = ASGITransport(app=application)
        async with AsyncClient(transport=transport, base_url="http://t") as http:
            started = time.perf_counter()
            response = await http.get("/readyz")
            assert time.perf_counter() - started < 2.5
            assert_problem(response, 503)
            assert int(response.headers["retry-after"]) > 0
            if "database_url" in broken:
                login = await http.post(
                    "/api/v1/auth/token", json={"email": "a@example.com", "password": "x"}
                )
                assert_problem(login, 503)
                assert "retry-after" in login.headers


def test_the_recorded_head_is_alembics_head() -> None:
    # /readyz compares the database with HEAD_REVISION: a new migration must move it.
    assert head_revision() == alembic_head() is not None


async def test_readyz_reports_pending_migrations(app, client: AsyncClient) -> None:  # type: ignore[no-untyped-def]
    app.state.ctx.migration_head = "not-applied-yet"
    response = await client.get("/readyz")
    body = assert_problem(response, 503)
    assert body["checks"]["database"] == "migrations behind"


async def test_metrics_exposes_requests_and_pool(client: AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/api/v1/users/me")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'backroom_http_requests_total{method="GET",route="/api/v1/users/me",status="401"}' in text
    )
    assert "backroom_http_request_duration_seconds_bucket" in text
    assert "backroom_db_pool_connections_in_use" in text


async def test_docs_render_from_local_assets(client: AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "http" not in page.text.split("<body>")[1]  # nothing loaded from elsewhere
    script = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
    assert (await client.get("/docs/init.js")).status_code == 200


async def test_openapi_documents_every_status(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["openapi"].startswith("3.1")
    register = schema["paths"]["/api/v1/auth/register"]["post"]["responses"]
    assert {"201", "400", "409", "413", "415", "422", "429", "500", "503"} <= register.keys()
    me = schema["paths"]["/api/v1/users/me"]["get"]["responses"]
    assert {"200", "304", "401", "429", "500", "503"} <= me.keys()
    problem = register["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
    token = schema["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= token.keys()
    security = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "oauth2" for s in security.values())


async def test_metrics_report_the_job_queue_depth(app: FastAPI, client: AsyncClient) -> None:
    from backroom.jobs.service import new_job

    async with app.state.ctx.sessionmaker() as session:
        for _ in range(3):  # committed, never enqueued: waiting
            session.add(new_job(kind="import.products", created_by=None, params={}))
        await session.commit()
    text = (await client.get("/metrics")).text
    assert "backroom_job_queue_depth 3.0" in text


async def test_the_app_starts_and_serves_with_redis_down(make_settings) -> None:  # type: ignore[no-untyped-def]
    # Redis refuses connections from the start: the cache is bypassed, limits and
    # events degrade (docs/deployment.md), and reads, writes and orders still work.
    settings = make_settings(redis_url="redis://127.0.0.1:1/0", rate_limit="on")
    app = create_app(settings)
    transport = ASGITransport(app=app)
    async with LifespanManager(app), AsyncClient(transport=transport, base_url="http://t") as http:
        staff = await Actors(app, http).staff()
        customer = await Actors(app, http).customer()
        made = await http.post(
            "/api/v1/products", headers=staff.headers, json=product_payload(stock=5)
        )
        assert made.status_code == 201, made.text
        url = f"/api/v1/products/{made.json()['id']}"
        for _ in range(3):  # misses the cache every time, and is still served
            assert (await http.get(url)).json()["stock"] == 5
        assert (await http.get("/api/v1/products")).status_code == 200
        order = await http.post(
            "/api/v1/orders", headers=customer.headers,
            json={"items": [{"product_id": made.json()["id"], "quantity": 2}],
                  "shipping_address": ADDRESS},
        )  # fmt: skip
        assert order.status_code == 201, order.text
        assert (await http.get(url)).json()["stock"] == 3
        assert_problem(await http.get("/readyz"), 503)  # and says so to the balancer
