from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.factories import Actors
from tests.test_http_conventions import assert_problem

COUPONS = "/api/v1/coupons"


async def test_staff_crud(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    created = await client.post(
        COUPONS, headers=staff.headers, json={"code": "welcome10", "percent_off": 10}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["code"], body["redemptions"], body["min_subtotal_cents"]) == ("WELCOME10", 0, 0)
    assert (body["starts_at"], body["ends_at"], body["max_redemptions"], body["is_active"]) == (
        None, None, None, True,
    )  # fmt: skip
    url = created.headers["location"]
    assert (await client.get(url, headers=staff.headers)).json() == body
    patched = await client.patch(
        url, headers=staff.headers, json={"percent_off": None, "amount_off_cents": 500}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["percent_off"], patched.json()["amount_off_cents"]) == (None, 500)
    assert_problem(await client.patch(url, headers=staff.headers, json={"redemptions": 5}), 422)
    listed = await client.get(COUPONS, headers=staff.headers)
    assert [c["code"] for c in listed.json()["items"]] == ["WELCOME10"]
    assert (await client.delete(url, headers=staff.headers)).status_code == 204
    assert_problem(await client.get(url, headers=staff.headers), 404)


async def test_codes_are_unique_case_insensitively(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await client.post(COUPONS, headers=staff.headers, json={"code": "SPRING", "percent_off": 5})
    again = await client.post(
        COUPONS, headers=staff.headers, json={"code": "spring", "percent_off": 5}
    )
    assert_problem(again, 409)


@pytest.mark.parametrize(
    "body",
    [
        {"code": "BOTH", "percent_off": 10, "amount_off_cents": 100},
        {"code": "NONE"},
        {"code": "PCT", "percent_off": 0},
        {"code": "PCT", "percent_off": 101},
        {"code": "AMT", "amount_off_cents": 0},
        {"code": "has space", "percent_off": 5},
        {
            "code": "WIN",
            "percent_off": 5,
            "starts_at": "2026-02-01T00:00:00Z",
            "ends_at": "2026-01-01T00:00:00Z",
        },
        {"code": "TZ", "percent_off": 5, "starts_at": "2026-02-01T00:00:00"},
        {"code": "RO", "percent_off": 5, "redemptions": 3},
        {"code": "LIM", "percent_off": 5, "max_redemptions": 0},
    ],
)
async def test_invalid_coupons_are_422(
    client: AsyncClient, actors: Actors, body: dict[str, Any]
) -> None:
    staff = await actors.staff()
    assert_problem(await client.post(COUPONS, headers=staff.headers, json=body), 422)


async def test_coupons_are_for_staff(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    assert_problem(await client.get(COUPONS, headers=customer.headers), 403)
    body = {"code": "X", "percent_off": 5}
    assert_problem(await client.post(COUPONS, headers=customer.headers, json=body), 403)
    assert_problem(await client.get(COUPONS), 401)


async def test_times_that_overflow_in_utc_are_422(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    body = {"code": "EARLY", "percent_off": 5, "starts_at": "0001-01-01T01:00:00+21:41"}
    response = await client.post(COUPONS, headers=staff.headers, json=body)
    assert assert_problem(response, 422)["errors"][0]["field"] == "starts_at"
