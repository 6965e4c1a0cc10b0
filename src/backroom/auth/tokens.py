"""Access tokens (JWT, HS256 only) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "backroom"
AUDIENCE = "backroom-api"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    issued_at: datetime
    token_id: str
    expires_at: datetime


class InvalidToken(Exception):
    """The token is malformed, forged, expired or aimed at someone else."""


def issue_access(key: bytes, user_id: uuid.UUID, ttl_seconds: int, now: datetime) -> str:
    # iat in milliseconds (a NumericDate may be fractional) so that a password change
    # voids the tokens issued before it, even within the same second.
    stamp = now.timestamp()
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "iat": round(stamp, 3),
        "exp": int(stamp) + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def decode_access(key: bytes, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": _REQUIRED},
        )
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            issued_at=_EPOCH + timedelta(milliseconds=round(float(claims["iat"]) * 1000)),
            token_id=str(claims["jti"]),
            expires_at=_EPOCH + timedelta(seconds=int(claims["exp"])),
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc


def truncate_ms(moment: datetime) -> datetime:
    """The precision tokens carry: compare revocation instants at this resolution."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    # Refresh tokens carry 256 random bits, so a fast hash is enough (no need for argon2).
    return hashlib.sha256(token.encode()).hexdigest()
