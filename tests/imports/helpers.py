from __future__ import annotations

import asyncio
from typing import Any

from httpx import AsyncClient

from tests.factories import Actor

IMPORTS = "/api/v1/imports/products"
HEADER = "sku,name,description,price_cents,stock,category_slug,is_active\r\n"


async def upload(
    client: AsyncClient, staff: Actor, body: bytes | str, content_type: str = "text/csv"
) -> dict[str, Any]:
    data = body.encode() if isinstance(body, str) else body
    headers = {**staff.headers, "Content-Type": content_type}
    response = await client.post(IMPORTS, content=data, headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"/api/v1/imports/{response.json()['id']}"
    return dict(response.json())


async def finished(
    client: AsyncClient, staff: Actor, job_id: str, within: float = 60
) -> dict[str, Any]:
    """Poll the job until it is over."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        response = await client.get(f"/api/v1/imports/{job_id}", headers=staff.headers)
        assert response.status_code == 200, response.text
        job = dict(response.json())
        if job["status"] in ("succeeded", "failed"):
            return job
        assert asyncio.get_running_loop().time() < deadline, f"import still {job['status']}"
        await asyncio.sleep(0.05)


async def run(
    client: AsyncClient, staff: Actor, body: bytes | str, content_type: str = "text/csv"
) -> dict[str, Any]:
    job = await upload(client, staff, body, content_type)
    return await finished(client, staff, job["id"])
