from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.factories import Actors
from tests.reports.helpers import REPORTS
from tests.test_http_conventions import assert_problem

ALL = ("sales", "top-products", "inventory", "customers")
DATED = ("sales", "top-products", "customers")


@pytest.mark.parametrize("report", ALL)
async def test_staff_only(client: AsyncClient, actors: Actors, report: str) -> None:
    response = await client.get(f"{REPORTS}/{report}")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    customer = await actors.customer()
    assert_problem(await client.get(f"{REPORTS}/{report}", headers=customer.headers), 403)
    admin = await actors.admin()
    assert (await client.get(f"{REPORTS}/{report}", headers=admin.headers)).status_code == 200


BAD_DATES = [
    ("from=2026-13-01", "from"),
    ("from=2026-02-30", "from"),
    ("to=26-01-01", "to"),
    ("from=2026-01-01T00:00:00", "from"),
    ("from=1700000000", "from"),
    ("from=2026-03-02&to=2026-03-01", "from"),  # from after to
    ("from=2016-01-01&to=2026-01-01", "from"),  # 3,654 days: over ten years
]


@pytest.mark.parametrize("report", DATED)
@pytest.mark.parametrize(("query", "field"), BAD_DATES)
async def test_bad_dates_are_422_naming_the_field(
    client: AsyncClient, actors: Actors, report: str, query: str, field: str
) -> None:
    staff = await actors.staff()
    response = await client.get(f"{REPORTS}/{report}?{query}", headers=staff.headers)
    body = assert_problem(response, 422)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_ten_years_exactly_is_allowed(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    url = f"{REPORTS}/sales?from=2016-01-02&to=2026-01-01&granularity=month"
    response = await client.get(url, headers=staff.headers)
    assert response.status_code == 200, response.text
    assert len(response.json()["rows"]) == 121


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("sales?granularity=year", "granularity"),
        ("top-products?by=profit", "by"),
        ("top-products?limit=0", "limit"),
        ("top-products?limit=101", "limit"),
        ("customers?limit=-1", "limit"),
        ("customers?limit=ten", "limit"),
        ("inventory?low_stock_threshold=-1", "low_stock_threshold"),
        ("inventory?low_stock_threshold=2.5", "low_stock_threshold"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    client: AsyncClient, actors: Actors, path: str, field: str
) -> None:
    staff = await actors.staff()
    body = assert_problem(await client.get(f"{REPORTS}/{path}", headers=staff.headers), 422)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_the_widest_dates_do_not_overflow(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    for query in ("from=0001-01-01&to=0001-02-01", "from=9999-12-01&to=9999-12-31"):
        for granularity in ("day", "week", "month"):
            url = f"{REPORTS}/sales?{query}&granularity={granularity}"
            response = await client.get(url, headers=staff.headers)
            assert response.status_code == 200, response.text


async def test_head_answers_like_get(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    for accept in ("application/json", "text/csv"):
        headers = {**staff.headers, "Accept": accept}
        got = await client.get(f"{REPORTS}/sales", headers=headers)
        head = await client.head(f"{REPORTS}/sales", headers=headers)
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"] == got.headers["content-type"]
        assert got.headers["cache-control"] == "no-store"
