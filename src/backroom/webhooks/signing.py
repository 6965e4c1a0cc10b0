"""Standard Webhooks signatures (https://www.standardwebhooks.com, "Signature scheme").

The secret is ``whsec_`` + base64 of 32 random bytes; the key is those bytes.
Each request carries ``webhook-id`` (the event id, the same on every retry, so
receivers can drop duplicates), ``webhook-timestamp`` (Unix seconds, when this
attempt was signed) and ``webhook-signature``: ``v1,`` + base64 of
HMAC-SHA256(key, ``"{id}.{timestamp}.{body}"``). While a rotated-out secret is
still valid, a second ``v1,…`` signature made with it follows, space-separated,
as the specification allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every secret given."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_),
    }
