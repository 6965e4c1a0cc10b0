"""Categories, products and their opening stock (one ``restock`` ledger line each)."""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterator
from typing import Any

import orjson

from backroom.seed import words
from backroom.seed.keys import uuid7
from backroom.seed.plan import DAY, Plan
from backroom.seed.writer import Batch, Codec, Row, Table

CATEGORY = Table(
    "category", ("id", "name", "slug", "parent_id", "description", "created_at", "updated_at")
)
PRODUCT = Table("product", (
    "id", "sku", "slug", "name", "description", "price_cents", "stock", "category_id",
    "is_active", "attributes", "version", "created_at", "updated_at",
))  # fmt: skip
MOVEMENT = Table(
    "stock_movement",
    ("id", "product_id", "delta", "reason", "note", "stock_after", "actor_id", "created_at"),
)
_PRE_WINDOW_SHARE = 0.6  # of products exist before the first order; the rest arrive over time
_POPULARITY_EXPONENT = 0.8  # Zipf-like: a few best sellers, a long tail
LEAVES = [(top, leaf) for top, _, leaves in words.TREE for leaf in leaves]


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def category_slugs() -> list[str]:
    tops = [slugify(top) for top, _, _ in words.TREE]
    return tops + [f"{slugify(top)}-{slugify(leaf.name)}" for top, leaf in LEAVES]


class Catalog:
    """What orders need of each product, in creation order (kept in memory: a few
    hundred bytes a product), and the popularity table to draw them from."""

    def __init__(self) -> None:
        self.ids: list[Any] = []
        self.skus: list[str] = []
        self.names: list[str] = []
        self.prices: list[int] = []
        self.created: list[int] = []
        self.stock: list[int] = []  # what is left now; open orders take from it
        self.changed: dict[int, int] = {}  # product index -> time of its last order movement
        self.cum_weights: list[float] = []

    def add(self, pid: Any, sku: str, name: str, price: int, created: int, stock: int) -> None:
        self.ids.append(pid)
        self.skus.append(sku)
        self.names.append(name)
        self.prices.append(price)
        self.created.append(created)
        self.stock.append(stock)

    def rank(self, rng: random.Random) -> None:
        """Give products a random popularity rank (so it isn't tied to age)."""
        ranks = list(range(len(self.ids)))
        rng.shuffle(ranks)
        weights = (1.0 / (r + 1) ** _POPULARITY_EXPONENT for r in ranks)
        self.cum_weights = list(itertools.accumulate(weights))


def categories(
    plan: Plan, rng: random.Random, codec: Codec, existing: dict[str, Any]
) -> tuple[list[Row], list[Any]]:
    """Rows for the tree's categories not yet in the database (matched by slug, so a
    second run, or the bootstrap demo catalog, shares them) and the leaf ids in order."""
    at = plan.start_us - 120 * DAY
    stamp = codec.ts(at)
    rows: list[Row] = []
    ids: dict[str, Any] = {}
    leaf_ids: list[Any] = []
    for top, description, leaves in words.TREE:
        entries: list[tuple[str, str, str | None, str]] = [(slugify(top), top, None, description)]
        entries += [
            (f"{slugify(top)}-{slugify(leaf.name)}", leaf.name, slugify(top),
             f"{leaf.name} in {top.lower()}.")
            for leaf in leaves
        ]  # fmt: skip
        for slug, name, parent, text in entries:
            new_id = codec.uid(uuid7(at, rng))  # always drawn: same seed, same sequence
            ids[slug] = existing.get(slug, new_id)
            if slug not in existing:
                parent_id = ids[parent] if parent else None
                rows.append((new_id, name, slug, parent_id, text, stamp, stamp))
            if parent is not None:
                leaf_ids.append(ids[slug])
    return rows, leaf_ids


def products(
    plan: Plan, rng: random.Random, codec: Codec, leaf_ids: list[Any], catalog: Catalog
) -> Iterator[Batch]:
    """Products in creation order, ``plan.batch_products`` at a time; fills ``catalog``."""
    made = _Maker(plan, rng, codec, leaf_ids, catalog)
    for first in range(0, plan.products, plan.batch_products):
        last = min(first + plan.batch_products, plan.products)
        product_rows: list[Row] = []
        movement_rows: list[Row] = []
        for index in range(first, last):
            product, movement = made.product(index)
            product_rows.append(product)
            if movement is not None:
                movement_rows.append(movement)
        yield Batch(last - first, [(PRODUCT, product_rows), (MOVEMENT, movement_rows)])
    catalog.rank(rng)


class _Maker:
    def __init__(
        self, plan: Plan, rng: random.Random, codec: Codec, leaf_ids: list[Any], catalog: Catalog
    ) -> None:
        self.plan, self.rng, self.codec, self.leaf_ids, self.catalog = (
            plan, rng, codec, leaf_ids, catalog
        )  # fmt: skip
        self.pre = max(1, int(plan.products * _PRE_WINDOW_SHARE))

    def created(self, index: int) -> int:
        """Increasing with the index: 60 % in the 90 days before the history starts,
        the rest spread over it (a growing catalog)."""
        plan, u = self.plan, self.rng.random()
        if index < self.pre:
            return plan.start_us - 90 * DAY + int((index + u) / self.pre * 90 * DAY)
        span = plan.now_us - DAY - plan.start_us
        return plan.start_us + int((index - self.pre + u) / (plan.products - self.pre) * span)

    def product(self, index: int) -> tuple[Row, Row | None]:
        rng, codec = self.rng, self.codec
        at = self.created(index)
        slot = rng.randrange(len(LEAVES))
        leaf = LEAVES[slot][1]
        material = rng.choice(words.MATERIALS[leaf.kind])
        noun = rng.choice(leaf.nouns)
        if leaf.kind == "electronics":
            name = f"{material} {noun} {rng.choice('XSM')}{rng.randint(1, 9)}"
        else:
            name = f"{rng.choice(words.ADJECTIVES)} {material} {noun}"
        sku = f"{leaf.code}-{self.plan.tag}-{index + 1:06d}"
        slug = f"{slugify(name)}-{self.plan.tag.lower()}-{index + 1}"
        description = " ".join(
            (f"{name}, from our {leaf.name.lower()} range.",
             rng.choice(words.BLURBS[leaf.kind]), rng.choice(words.CLOSERS))
        )  # fmt: skip
        price = _price(rng, *leaf.price_cents)
        stock = _stock(rng)
        attributes = orjson.dumps(_attributes(rng, leaf.kind, material)).decode()
        pid, stamp = codec.uid(uuid7(at, rng)), codec.ts(at)
        product = (
            pid, sku, slug, name, description, price, stock, self.leaf_ids[slot],
            codec.flag(rng.random() >= 0.03), attributes, 1, stamp, stamp,
        )  # fmt: skip
        movement = None
        if stock > 0:  # a zero delta is not a movement; stock 0 = the empty sum
            movement = (codec.uid(uuid7(at, rng)), pid, stock, "restock", "seed", stock, None,
                        stamp)  # fmt: skip
        self.catalog.add(pid, sku, name, price, at, stock)
        return product, movement


def _price(rng: random.Random, low: int, high: int) -> int:
    """Log-uniform, then a shop's ending: 24.99, 7.49."""
    raw = math.exp(rng.uniform(math.log(low), math.log(high)))
    if raw < 1_000:
        return max(49, int(raw // 50) * 50 + 49)
    return round(raw / 100) * 100 - 1


def _stock(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.04:
        return 0  # out of stock
    if roll < 0.12:
        return rng.randint(1, 5)  # low stock
    return int(rng.lognormvariate(4.0, 0.8)) + 6


def _attributes(rng: random.Random, kind: str, material: str) -> dict[str, Any]:
    color = rng.choice(words.COLORS)
    if kind == "apparel":
        return {"color": color, "size": rng.choice(words.SIZES), "material": material.lower()}
    if kind == "kitchen":
        return {"material": material.lower(), "capacity_ml": rng.choice((250, 350, 500, 1000)),
                "dishwasher_safe": rng.random() < 0.6}  # fmt: skip
    if kind == "home":
        return {"color": color, "material": material.lower(), "width_cm": rng.randint(10, 120)}
    if kind == "outdoor":
        return {"color": color, "weight_g": rng.randint(80, 4_000),
                "waterproof": rng.random() < 0.5}  # fmt: skip
    if kind == "electronics":
        return {"color": color, "battery_hours": rng.randint(4, 60),
                "wireless": rng.random() < 0.7,
                "warranty_years": rng.choice((1, 2, 3))}  # fmt: skip
    return {"pages": rng.randint(64, 480), "format": rng.choice(("hardcover", "paperback")),
            "language": "en"}  # fmt: skip
