"""Customers: names, unique emails carrying the run's tag, one address each.

Nobody can sign in as a seeded customer: they all share the argon2 hash of a random
throwaway password made for the run and never shown (hashing a million passwords
would take hours; a real hash keeps sign-in timing the same as for real accounts).
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from collections.abc import Iterator
from typing import Any

import orjson

from backroom.auth.passwords import hash_sync
from backroom.seed import words
from backroom.seed.keys import uuid7
from backroom.seed.plan import DAY, HOUR, Plan
from backroom.seed.writer import Batch, Codec, Row, Table

USER = Table("user_account", (
    "id", "email", "password_hash", "full_name", "role", "is_active", "tokens_valid_after",
    "created_at", "updated_at",
))  # fmt: skip


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


class Customers:
    """What orders need of each customer, in sign-up order (kept in memory)."""

    def __init__(self) -> None:
        self.ids: list[Any] = []
        self.created: list[int] = []
        self.addresses: list[str] = []  # JSON, as an order's shipping_address


def throwaway_hash() -> str:
    """The argon2 hash of a random password nobody ever sees (so no one can sign in)."""
    return hash_sync(secrets.token_urlsafe(32))


def customers(
    plan: Plan, rng: random.Random, codec: Codec, people: Customers, password_hash: str
) -> Iterator[Batch]:
    """Customers in sign-up order, ``plan.batch_customers`` at a time; fills ``people``."""
    first_us = plan.start_us - 30 * DAY  # before the first order, so every order has one
    span = plan.now_us - HOUR - first_us
    domain = f"{plan.tag.lower()}.example.com"
    for first in range(0, plan.customers, plan.batch_customers):
        last = min(first + plan.batch_customers, plan.customers)
        rows: list[Row] = []
        for index in range(first, last):
            # The first customer signs up at the very start: every order has someone to buy.
            jitter = rng.random() if index else 0.0
            at = first_us + int((index + jitter) / plan.customers * span)
            given, family = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
            full_name = f"{given} {family}"
            email = f"{_ascii(given)}.{_ascii(family)}.{index + 1}@{domain}"
            uid, stamp = codec.uid(uuid7(at, rng)), codec.ts(at)
            rows.append((uid, email, password_hash, full_name, "customer", codec.flag(True),
                         stamp, stamp, stamp))  # fmt: skip
            people.ids.append(uid)
            people.created.append(at)
            people.addresses.append(orjson.dumps(_address(rng, full_name)).decode())
        yield Batch(last - first, [(USER, rows)])


def _address(rng: random.Random, name: str) -> dict[str, str | None]:
    """The shape the API stores (every key of ShippingAddress, absent ones null)."""
    city, region, country, pattern = rng.choice(words.PLACES)
    street = f"{rng.choice(words.STREETS)} {rng.choice(words.STREET_KINDS)}"
    line2 = f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}" if rng.random() < 0.2 else None
    postal = "".join(
        str(rng.randint(0, 9)) if ch == "#" else rng.choice("ABCEHJKLMNPRSTVWXY") if ch == "@"
        else ch
        for ch in pattern
    )  # fmt: skip
    return {
        "name": name, "line1": f"{rng.randint(1, 2_999)} {street}", "line2": line2,
        "city": city, "region": region or None, "postal_code": postal, "country": country,
    }  # fmt: skip
