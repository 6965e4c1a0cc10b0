"""Password hashing (argon2id) and the password policy.

Hashing runs in a worker thread: at ~20-60 ms a hash it would otherwise stall
every other request on the event loop during a burst of logins.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's recommended argon2id floor: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID)
# Verified when the email is unknown, so both failures cost the same time.
DUMMY_HASH = _hasher.hash("backroom-dummy-password-for-timing")

MAX_LENGTH = 128


def hash_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_verify)


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    text = resources.files("backroom.auth").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def policy_violation(password: str, min_length: int) -> str | None:
    """Why ``password`` is not acceptable, or None when it is."""
    if len(password) < min_length:
        return f"must be at least {min_length} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if password.lower() in _common() or len(set(password)) <= 2:
        return "is too common; choose a less guessable password"
    return None
