"""Payment providers behind one small interface, so order code never knows which.

A real provider (Stripe-like: payment intents, signed webhooks) implements
``charge`` and ``refund`` with its API, passing the order id as the provider's
idempotency key so a retried charge is never doubled; asynchronous confirmation
would arrive as a signed webhook that calls the same order transition. See
docs/cart.md, "Payments".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Charge:
    succeeded: bool
    reference: str | None
    decline_reason: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, *, amount_cents: int, currency: str, token: str, idempotency_key: str
    ) -> Charge: ...

    async def refund(self, *, reference: str, amount_cents: int) -> None: ...


class InvalidToken(ValueError):
    """The token is not one this provider knows."""


class TestProvider:
    """The built-in provider: ``tok_visa`` succeeds, ``tok_chargeDeclined`` is declined."""

    name = "test"

    async def charge(
        self, *, amount_cents: int, currency: str, token: str, idempotency_key: str
    ) -> Charge:
        if token == "tok_visa":  # noqa: S105 - the documented test token, not a secret  # nosec B105
            return Charge(True, "ch_test_" + secrets.token_hex(8))
        if token == "tok_chargeDeclined":  # noqa: S105 - the documented test token  # nosec B105
            return Charge(False, None, "Your card was declined.")
        raise InvalidToken(token)

    async def refund(self, *, reference: str, amount_cents: int) -> None:
        return None


PROVIDERS: dict[str, PaymentProvider] = {"test": TestProvider()}
