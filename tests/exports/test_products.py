from __future__ import annotations

import orjson
import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from backroom.exports import Format, service
from tests.catalog.helpers import create_product
from tests.exports.helpers import EXPORTS, HEADER, download, tricky_catalog
from tests.factories import Actors
from tests.test_http_conventions import assert_problem


async def test_csv_is_exact(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await tricky_catalog(client, staff)
    response = await client.get(f"{EXPORTS}/products.csv", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="products.csv"'
    assert response.headers["cache-control"] == "no-store"
    # Ordered by SKU, the deleted AA-0 left out; quotes doubled, fields with a comma,
    # quote or newline quoted; UTF-8 without a BOM.
    assert (
        response.content
        == HEADER
        + (
            'A-1,"Mug, ""large""","line one\nline two",1250,3,mugs,true\r\n'
            "B-2,Café crème ☕,,0,0,,false\r\n"
            'C-3,Plain; simple,"tab\there, naïve",1000000000,7,,true\r\n'
        ).encode()
    )


async def test_ndjson_parses_line_by_line(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await tricky_catalog(client, staff)
    response = await client.get(f"{EXPORTS}/products.ndjson", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"] == 'attachment; filename="products.ndjson"'
    assert response.content.endswith(b"\n")
    lines = [orjson.loads(line) for line in response.content.split(b"\n")[:-1]]
    assert [list(line) for line in lines] == [list(service.PRODUCT_COLUMNS)] * 3  # key order
    assert lines[0] == {
        "sku": "A-1", "name": 'Mug, "large"', "description": "line one\nline two",
        "price_cents": 1250, "stock": 3, "category_slug": "mugs", "is_active": True,
    }  # fmt: skip
    assert (lines[1]["sku"], lines[1]["category_slug"], lines[1]["is_active"]) == (
        "B-2", None, False,
    )  # fmt: skip
    assert lines[2]["sku"] == "C-3"


async def test_an_empty_catalog(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    assert await download(client, "products.csv", staff) == HEADER
    assert await download(client, "products.ndjson", staff) == b""


@pytest.mark.parametrize("path", ["products.csv", "products.ndjson", "orders.csv"])
async def test_staff_only(client: AsyncClient, actors: Actors, path: str) -> None:
    anonymous = await client.get(f"{EXPORTS}/{path}")
    assert_problem(anonymous, 401)
    assert anonymous.headers["www-authenticate"] == "Bearer"
    customer = await actors.customer()
    assert_problem(await client.get(f"{EXPORTS}/{path}", headers=customer.headers), 403)
    admin = await actors.admin()
    assert (await client.get(f"{EXPORTS}/{path}", headers=admin.headers)).status_code == 200


@pytest.mark.parametrize("batch", [3, 5])  # 10 rows: a partial last batch, and none
async def test_every_row_once_across_batches(
    client: AsyncClient, actors: Actors, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", batch)
    staff = await actors.staff()
    skus = [f"SKU-{n:02d}" for n in (7, 3, 9, 0, 5, 1, 8, 2, 6, 4)]
    for sku in skus:
        await create_product(client, staff, sku=sku)
    csv_lines = (await download(client, "products.csv", staff)).split(b"\r\n")
    assert csv_lines[0] + b"\r\n" == HEADER
    assert [line.split(b",")[0].decode() for line in csv_lines[1:-1]] == sorted(skus)
    assert csv_lines[-1] == b""
    ndjson = (await download(client, "products.ndjson", staff)).splitlines()
    assert [orjson.loads(line)["sku"] for line in ndjson] == sorted(skus)


async def test_head_answers_like_get(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    response = await client.head(f"{EXPORTS}/products.csv", headers=staff.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content == b""


async def test_no_connection_is_held_between_batches(
    app: FastAPI, client: AsyncClient, actors: Actors, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow client must not pin a pooled connection for the whole download: each
    # batch is its own short read, so between chunks nothing is checked out.
    monkeypatch.setattr(service, "BATCH_SIZE", 2)
    staff = await actors.staff()
    for n in range(5):
        await create_product(client, staff, sku=f"HOLD-{n}")
    engine = app.state.ctx.read_engine
    chunks = 0
    async for _chunk in service.products(engine, Format.CSV):
        assert engine.pool.checkedout() == 0
        chunks += 1
    assert chunks == 3
