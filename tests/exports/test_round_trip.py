"""The contract: re-importing an export changes nothing."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from tests.catalog.helpers import PRODUCTS
from tests.exports.helpers import download, tricky_catalog
from tests.factories import Actors
from tests.imports.helpers import run


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("products.csv", "text/csv"), ("products.ndjson", "application/x-ndjson")],
)
async def test_reimporting_an_export_changes_nothing(
    client: AsyncClient, actors: Actors, path: str, content_type: str
) -> None:
    staff = await actors.staff()
    made = await tricky_catalog(client, staff)
    exported = await download(client, path, staff)
    job = await run(client, staff, exported, content_type)
    assert job["status"] == "succeeded", job
    assert (job["rows_processed"], job["rows_failed"], job["rows_created"]) == (3, 0, 0)
    assert await download(client, path, staff) == exported
    for product in made.values():
        response = await client.get(f"{PRODUCTS}/{product['id']}", headers=staff.headers)
        after = response.json()
        assert (after["updated_at"], after["stock"]) == (product["updated_at"], product["stock"])
