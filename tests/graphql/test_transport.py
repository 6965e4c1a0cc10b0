"""GraphQL over HTTP: garbage in gets a clean error out, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, queries

from backroom.graphql.schema import schema
from tests.catalog.helpers import create_category, create_product
from tests.factories import Actors
from tests.graphql.helpers import GRAPHQL, GRAPHQL_RESPONSE, codes, data, post
from tests.orders.test_place import ADDRESS, ORDERS
from tests.test_http_conventions import assert_problem

SDL = schema.as_str()
BY_N = "query($n: Int!) { products(first: $n) { edges { cursor } } }"
_FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def test_bodies_that_are_not_graphql_requests(client: AsyncClient) -> None:
    json = {"Content-Type": "application/json"}
    assert_problem(await client.post(GRAPHQL, content=b"{not json", headers=json), 400)
    assert_problem(await client.post(GRAPHQL, content=b"\xff\xfe", headers=json), 400)
    text = {"Content-Type": "text/plain"}
    assert_problem(await client.post(GRAPHQL, content=b"{ __typename }", headers=text), 415)
    graphql = {"Content-Type": "application/graphql"}
    assert_problem(await client.post(GRAPHQL, content=b"{ __typename }", headers=graphql), 415)
    for body in (
        {}, [], "query", {"query": 5}, {"query": ["{ __typename }"]}, {"query": None},
        {"query": "{ __typename }", "variables": [1]},
        {"query": "{ __typename }", "variables": "x"},
        {"query": "{ __typename }", "operationName": 3},
        {"query": "{ __typename }", "extensions": "x"},
        {"query": "{ __typename }", "mutation": "x"},
    ):  # fmt: skip
        assert_problem(await client.post(GRAPHQL, json=body), 422)


async def test_null_optional_parameters_are_accepted(client: AsyncClient) -> None:
    body = {"query": "{ __typename }", "variables": None, "operationName": None, "extensions": None}
    response = await client.post(GRAPHQL, json=body)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    assert response.headers["cache-control"] == "no-store"


async def test_only_post_is_served(client: AsyncClient) -> None:
    response = await client.get(GRAPHQL, params={"query": "{ __typename }"})
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST, OPTIONS"
    options = await client.options(GRAPHQL)
    assert options.status_code == 204 and options.headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ __typename", None, "graphql_parse_failed"),
        ("", None, "graphql_parse_failed"),
        ("\x00", None, "graphql_parse_failed"),
        ("{ nope }", None, "graphql_validation_failed"),
        ("{ products { edges { node { secret } } } }", None, "graphql_validation_failed"),
        ("{ products(first: \"ten\") { edges { cursor } } }", None, "graphql_validation_failed"),
        ("{ ...Missing }", None, "graphql_validation_failed"),
        ("query { products(first: $n) { edges { cursor } } }", None, "graphql_validation_failed"),
        ("mutation { anything }", None, "graphql_validation_failed"),
        ("subscription { anything }", None, "graphql_validation_failed"),
        (BY_N, {"n": "ten"}, "bad_user_input"),
        (BY_N, {"n": 2**40}, "bad_user_input"),
        (BY_N, {}, "bad_user_input"),
        (BY_N, {"n": True}, "bad_user_input"),
        ("query($id: ID) { product(id: $id) { id } }", {"id": {"a": 1}}, "bad_user_input"),
    ],
)  # fmt: skip
async def test_documents_that_cannot_run(
    client: AsyncClient, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    response = await post(client, query, variables)
    assert codes(response) == [code]
    assert "data" not in response.json()  # refused before execution
    strict = await post(client, query, variables, headers={"Accept": GRAPHQL_RESPONSE})
    assert codes(strict, 400) == [code]


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ("first: 0", "validation_error"),
        ("first: -1", "validation_error"),
        ("first: 101", "validation_error"),
        ("first: 2000000000", "validation_error"),
        ('after: "garbage"', "validation_error"),
        ('after: "eyJhIjoxfQ.AAAA"', "validation_error"),
        (f'after: "{"a" * 5000}.b"', "validation_error"),
        ('q: "a\\u0000b"', "validation_error"),
        (f'q: "{"x" * 201}"', "validation_error"),
    ],
)
async def test_bad_arguments_are_field_errors(
    client: AsyncClient, arguments: str, code: str
) -> None:
    response = await post(client, f"{{ products({arguments}) {{ edges {{ cursor }} }} }}")
    assert codes(response) == [code]
    assert response.json()["data"] == {"products": None}


async def test_odd_but_valid_input_is_answered(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await create_product(client, staff, name="Ünïcode ✓ Tote")
    for q in ("ünïcode", "✓", "'; DROP TABLE product; --", "%_", "\U0001f600", " "):
        found = await data(
            client, "query($q: String) { products(q: $q) { edges { cursor } } }", {"q": q}
        )
        assert isinstance(found["products"]["edges"], list)
    # No product can have these slugs or ids: null, as REST's 404.
    for variables in ({"s": "\U0001f600"}, {"s": "a" * 5000}, {"s": "no\x00pe"}, {"i": "\x00"}):
        found = await data(
            client, "query($s: String, $i: ID) { product(slug: $s, id: $i) { id } }", variables
        )
        assert found == {"product": None}


async def test_requests_are_rate_limited_as_on_rest(make_settings: Any) -> None:
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(rate_limit_anonymous="3/minute"))
    async with (
        LifespanManager(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as http,
    ):
        responses = [await post(http, "{ __typename }") for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert_problem(responses[3], 429)
        assert int(responses[3].headers["retry-after"]) >= 1


@pytest.fixture
async def customer_with_an_order(client: AsyncClient, actors: Actors) -> dict[str, str]:
    """Something for generated queries to find: a category tree, products, an order."""
    staff, customer = await actors.staff(), await actors.customer()
    top = await create_category(client, staff, name="Top")
    child = await create_category(client, staff, name="Child", parent_id=top["id"])
    products = [
        await create_product(client, staff, category_id=child["id"], stock=9, attributes={"n": n})
        for n in range(3)
    ]
    order = {
        "shipping_address": ADDRESS,
        "items": [{"product_id": products[0]["id"], "quantity": 2}],
    }
    assert (await client.post(ORDERS, headers=customer.headers, json=order)).status_code == 201
    return customer.headers


@_FUZZ
@given(query=queries(SDL))
async def test_generated_queries_are_answered(
    client: AsyncClient, customer_with_an_order: dict[str, str], query: str
) -> None:
    response = await post(client, query, headers=customer_with_an_order)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "data" in body or body["errors"]
    for error in body.get("errors", []):
        assert error["extensions"]["code"] != "internal_error"


@_FUZZ
@given(query=queries(SDL, mode=Mode.NEGATIVE))
async def test_generated_invalid_queries_are_refused(client: AsyncClient, query: str) -> None:
    response = await post(client, query)
    assert response.status_code == 200, response.text
    assert response.json()["errors"]


@_FUZZ
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
async def test_random_bodies_never_fail(client: AsyncClient, body: bytes) -> None:
    response = await client.post(
        GRAPHQL, content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 400, 422), response.text


@pytest.mark.parametrize(
    "database_url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere",
        "sqlite+aiosqlite:////nonexistent-dir/x/backroom.sqlite3",
    ],
)
async def test_an_unreachable_database_is_503_not_a_graphql_error(
    make_settings: Any, database_url: str
) -> None:
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from backroom.main import create_app

    application = create_app(make_settings(database_url=database_url))
    async with (
        LifespanManager(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as http,
    ):
        response = await post(http, "{ __typename products { edges { cursor } } }")
        assert_problem(response, 503)
        assert int(response.headers["retry-after"]) > 0
        assert (await post(http, "{ __typename }")).json() == {"data": {"__typename": "Query"}}


async def test_a_body_over_the_limit_is_413(client: AsyncClient) -> None:
    query = "{ __typename }" + " " * (1024 * 1024)
    assert_problem(await post(client, query), 413)
