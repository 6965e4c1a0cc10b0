"""Property-based: random sequences of catalog and stock operations, checked after
every step against a reference model kept in Python.

Invariants: stock equals the sum of the product's ledger; stock never negative;
the staff listing holds exactly the live products, each once, with the model's
fields; former slugs redirect to the current one.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backroom.config import Settings
from backroom.main import create_app
from tests.backends import Backend
from tests.catalog.helpers import PRODUCTS
from tests.factories import Actors


@dataclass
class Model:
    products: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    former_slugs: dict[str, str] = field(default_factory=dict)  # old slug -> product id


Op = tuple[str, int, int]  # (kind, which product, amount)
ops = st.lists(
    st.tuples(
        st.sampled_from(["create", "price", "rename", "delete", "move"]),
        st.integers(0, 4),
        st.integers(-6, 6),
    ),
    min_size=1,
    max_size=12,
)


async def _step(http: AsyncClient, staff: dict[str, str], model: Model, op: Op, n: int) -> None:
    kind, which, amount = op
    ids = sorted(model.products)
    target = ids[which % len(ids)] if ids else None
    if kind == "create" or target is None:
        body = {"sku": f"P-{n}", "name": f"Item {n}", "price_cents": 100 * n, "stock": abs(amount)}
        response = await http.post(PRODUCTS, headers=staff, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        model.products[created["id"]] = {**body, "slug": created["slug"]}
        return
    url = f"{PRODUCTS}/{target}"
    if kind == "price":
        response = await http.patch(url, headers=staff, json={"price_cents": abs(amount) * 7})
        assert response.status_code == 200
        model.products[target]["price_cents"] = abs(amount) * 7
    elif kind == "rename":
        new_slug = f"slug-{n}-{secrets.token_hex(2)}"
        response = await http.patch(url, headers=staff, json={"slug": new_slug})
        assert response.status_code == 200
        model.former_slugs[model.products[target]["slug"]] = target
        model.products[target]["slug"] = new_slug
    elif kind == "delete":
        assert (await http.delete(url, headers=staff)).status_code == 204
        del model.products[target]
        model.former_slugs = {s: p for s, p in model.former_slugs.items() if p != target}
    elif amount != 0:
        response = await http.post(
            f"{url}/stock-movements", headers=staff, json={"delta": amount, "reason": "correction"}
        )
        expected = 201 if model.products[target]["stock"] + amount >= 0 else 409
        assert response.status_code == expected, response.text
        if expected == 201:
            model.products[target]["stock"] += amount


async def _check(http: AsyncClient, staff: dict[str, str], model: Model) -> None:
    listed = (await http.get(f"{PRODUCTS}?limit=100&sort=name", headers=staff)).json()["items"]
    assert {p["id"] for p in listed} == set(model.products)
    for product in listed:
        expected = model.products[product["id"]]
        for key in ("sku", "price_cents", "stock", "slug"):
            assert product[key] == expected[key], key
        ledger = (
            await http.get(f"{PRODUCTS}/{product['id']}/stock-movements?limit=100", headers=staff)
        ).json()["items"]
        assert sum(m["delta"] for m in ledger) == product["stock"] >= 0
    for old, product_id in model.former_slugs.items():
        moved = await http.get(f"{PRODUCTS}/by-slug/{old}")
        assert moved.status_code == 301
        assert moved.headers["location"].endswith("/" + model.products[product_id]["slug"])


async def _scenario(backend: Backend, workdir: Path, sequence: list[Op]) -> None:
    overrides = await backend.fresh(workdir)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=workdir / "data", secret_key=secrets.token_urlsafe(48), log_level="WARNING",
        access_log=False, rate_limit="off", **overrides,
    )  # fmt: skip
    app = create_app(settings)
    async with (
        LifespanManager(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http,
    ):
        staff = (await Actors(app, http).staff()).headers
        model = Model()
        for n, op in enumerate(sequence):
            await _step(http, staff, model, op, n)
            await _check(http, staff, model)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(sequence=ops)
def test_random_operations_keep_every_invariant(
    backend: Backend, tmp_path_factory: Any, sequence: list[Op]
) -> None:
    workdir = tmp_path_factory.mktemp("prop")
    asyncio.run(_scenario(backend, workdir, sequence))
