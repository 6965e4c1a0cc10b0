"""Product imports over HTTP, on both databases, through the real job machinery."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select

from backroom.catalog.models import Product
from tests.catalog.helpers import create_category, create_product
from tests.factories import Actors
from tests.imports.helpers import HEADER, IMPORTS, run, upload

PRODUCTS = "/api/v1/products"


async def _by_sku(client: AsyncClient, headers: dict[str, str], sku: str) -> dict[str, Any]:
    """The product with this SKU, read through the API (staff see inactive ones too)."""
    app = client._transport.app  # type: ignore[attr-defined]
    async with app.state.ctx.sessionmaker() as session:
        product_id = await session.scalar(select(Product.id).where(Product.sku == sku))
    assert product_id is not None, sku
    response = await client.get(f"{PRODUCTS}/{product_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _ledger(
    client: AsyncClient, headers: dict[str, str], product_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{PRODUCTS}/{product_id}/stock-movements", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_csv_creates_products_with_ledger(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    await create_category(client, staff, name="Shirts", slug="shirts")
    body = (
        "\ufeffname,sku,price_cents,stock,category_slug,is_active,description\r\n"
        'Red shirt,RED-1,1999,5,shirts,true,"Soft, warm; says ""hi""\nsecond line"\r\n'
        "Blue mug,MUG-1,850,0,,false,\r\n"
    )
    job = await run(client, staff, body)
    assert job["status"] == "succeeded", job
    assert (
        job["rows_processed"],
        job["rows_created"],
        job["rows_updated"],
        job["rows_failed"],
    ) == (2, 2, 0, 0)
    assert job["errors"] == [] and job["failure_reason"] is None
    assert job["started_at"] and job["finished_at"]
    shirt = await _by_sku(client, staff.headers, "RED-1")
    assert shirt["name"] == "Red shirt" and shirt["price_cents"] == 1999 and shirt["stock"] == 5
    assert shirt["description"] == 'Soft, warm; says "hi"\nsecond line'
    assert shirt["slug"] == "red-shirt" and shirt["category_id"] is not None
    mug = await _by_sku(client, staff.headers, "MUG-1")
    assert mug["is_active"] is False and mug["category_id"] is None and mug["stock"] == 0
    ledger = await _ledger(client, staff.headers, shirt["id"])
    assert [(m["delta"], m["reason"], m["stock_after"]) for m in ledger] == [(5, "import", 5)]
    found = await client.get(PRODUCTS, params={"q": "warm shirt"})  # indexed for search
    assert [p["sku"] for p in found.json()["items"]] == ["RED-1"]
    assert await _ledger(client, staff.headers, mug["id"]) == []


async def test_bad_rows_are_reported_exactly_and_good_rows_import(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    await create_category(client, staff, name="Tools", slug="tools")
    rows = [
        HEADER.encode(),
        b"OK-1,Good one,,100,1,tools,true\r\n",  # row 2
        b",No sku,,100,1,,true\r\n",  # row 3: missing SKU
        b"BAD-PRICE,Bad price,,12.50,1,,true\r\n",  # row 4
        b"BAD-CAT,Bad category,,100,1,nope,true\r\n",  # row 5
        b"OK-1,Duplicate,,100,1,,true\r\n",  # row 6: duplicate within the file
        b"SHORT,Too few,100\r\n",  # row 7: wrong column count
        b"UTF,Caf\xe9 latin-1,,100,1,,true\r\n",  # row 8: not UTF-8
        b"OK-2,Good two,,200,0,,false\r\n",  # row 9
        b"NEG,Negative stock,,100,-1,,true\r\n",  # row 10
        b"NONAME,,,100,1,,true\r\n",  # row 11: a new product needs a name
        b"FLAG,Bad flag,,100,1,,maybe\r\n",  # row 12
    ]
    job = await run(client, staff, b"".join(rows))
    assert job["status"] == "succeeded", job
    assert (job["rows_processed"], job["rows_created"], job["rows_failed"]) == (11, 2, 9)
    got = [(e["row"], e["field"]) for e in job["errors"]]
    assert got == [
        (3, "sku"),
        (4, "price_cents"),
        (5, "category_slug"),
        (6, "sku"),
        (7, None),
        (8, None),
        (10, "stock"),
        (11, "name"),
        (12, "is_active"),
    ]
    messages = {e["row"]: e["message"] for e in job["errors"]}
    assert "row 2" in messages[6] and messages[7] == "expected 7 fields, found 3"
    assert "UTF-8" in messages[8] and "whole number" in messages[4]
    assert (await _by_sku(client, staff.headers, "OK-1"))["name"] == "Good one"
    assert (await _by_sku(client, staff.headers, "OK-2"))["is_active"] is False


async def test_files_that_are_not_csv_fail_with_a_reason(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    failed = await run(client, staff, png)
    assert failed["status"] == "failed" and "UTF-8" in failed["failure_reason"]
    no_header = await run(client, staff, b"")
    assert no_header["status"] == "failed" and "header" in no_header["failure_reason"]
    wrong = await run(client, staff, "sku,prce_cents\r\nA,1\r\n")
    assert wrong["status"] == "failed" and "prce_cents" in wrong["failure_reason"]
    not_json = await run(client, staff, "sku,name\nA,B\n", "application/x-ndjson")
    assert not_json["status"] == "failed" and "NDJSON" in not_json["failure_reason"]
    for job in (failed, no_header, wrong, not_json):
        assert job["rows_processed"] == 0 and job["finished_at"]


async def test_ndjson_and_multipart(client: AsyncClient, actors: Actors) -> None:
    staff = await actors.staff()
    lines = (
        b'{"sku": "ND-1", "name": "Lamp", "price_cents": 4500, "stock": 3, "is_active": true}\n'
        b"\n"
        b'{"sku": "ND-2", "name": "Desk", "price_cents": 9900.0, "category_slug": null}\n'
        b'{"sku": "ND-3", "name": "Chair", "price_cents": "12"}\n'
        b'{"sku": "ND-4", "name": "Bed", "price_cents": 1, "colour": "red"}\n'
        b"[1, 2]\n"
        b"{not json\n"
    )
    job = await run(client, staff, lines, "application/x-ndjson")
    assert job["status"] == "succeeded" and job["rows_created"] == 2
    assert [(e["row"], e["field"]) for e in job["errors"]] == [
        (4, "price_cents"),
        (5, "colour"),
        (6, None),
        (7, None),
    ]
    files = {"file": ("stock.csv", b"sku,stock\r\nND-1,7\r\n", "text/csv")}
    response = await client.post(IMPORTS, files=files, headers=staff.headers)
    assert response.status_code == 202, response.text
    from tests.imports.helpers import finished

    done = await finished(client, staff, response.json()["id"])
    assert (done["rows_updated"], done["rows_failed"]) == (1, 0)
    lamp = await _by_sku(client, staff.headers, "ND-1")
    assert lamp["stock"] == 7 and lamp["name"] == "Lamp"
    assert [m["delta"] for m in await _ledger(client, staff.headers, lamp["id"])] == [4, 3]


async def test_reimport_changes_nothing_and_updates_invalidate_the_cache(
    client: AsyncClient, actors: Actors
) -> None:
    staff = await actors.staff()
    existing = await create_product(
        client, staff, sku="KEEP-1", name="Kept", price_cents=500, stock=2
    )
    before = await client.get(f"{PRODUCTS}/{existing['id']}")  # now cached
    body = HEADER + "KEEP-1,Kept,,500,2,,true\r\n"
    same = await run(client, staff, body)
    assert (same["rows_processed"], same["rows_created"], same["rows_updated"]) == (1, 0, 0)
    again = await client.get(f"{PRODUCTS}/{existing['id']}")
    assert again.headers["etag"] == before.headers["etag"]
    changed = await run(client, staff, HEADER + "KEEP-1,Renamed,,650,9,,true\r\n")
    assert changed["rows_updated"] == 1
    after = (await client.get(f"{PRODUCTS}/{existing['id']}")).json()
    assert (after["name"], after["price_cents"], after["stock"]) == ("Renamed", 650, 9)
    assert after["slug"] == existing["slug"]
    ledger = await _ledger(client, staff.headers, existing["id"])
    assert sum(m["delta"] for m in ledger) == 9


async def test_permissions_and_media_types(client: AsyncClient, actors: Actors) -> None:
    customer = await actors.customer()
    staff = await actors.staff()
    csv = {"Content-Type": "text/csv"}
    assert (await client.post(IMPORTS, content=b"sku\r\n", headers=csv)).status_code == 401
    forbidden = await client.post(IMPORTS, content=b"sku\r\n", headers={**csv, **customer.headers})
    assert forbidden.status_code == 403
    wrong = await client.post(IMPORTS, json={"sku": "x"}, headers=staff.headers)
    assert wrong.status_code == 415
    assert wrong.headers["content-type"].startswith("application/problem+json")
    missing = await client.post(IMPORTS, files={"other": ("a.csv", b"x")}, headers=staff.headers)
    assert missing.status_code == 422
    extra = await client.post(
        IMPORTS, files={"file": ("a.csv", b"sku\r\n")}, data={"note": "x"}, headers=staff.headers
    )
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "note"
    job = await upload(client, staff, HEADER)
    assert (
        await client.get(f"/api/v1/imports/{job['id']}", headers=customer.headers)
    ).status_code == 403
    assert (await client.get("/api/v1/imports/not-an-id", headers=staff.headers)).status_code == 404
    unknown = "/api/v1/imports/00000000-0000-0000-0000-000000000000"
    assert (await client.get(unknown, headers=staff.headers)).status_code == 404
