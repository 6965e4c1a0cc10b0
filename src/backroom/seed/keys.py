"""Identifiers that follow from the seed alone, yet look like the app's own.

Every unique value a run writes (SKUs, slugs, emails, coupon codes, order numbers)
carries the run's *tag*: three characters that are a bijection of ``seed mod 32768``.
Two runs with different tags can never collide, so a database can hold several seeded
runs; a second run with the same tag is refused before anything is written.
"""

from __future__ import annotations

import random

# The alphabet of order numbers (orders.service): no 0/O or 1/I.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TAG_SPACE = 32**3
_NUMBER_BITS = 35  # 7 characters of 5 bits after the tag
_NUMBER_MASK = (1 << _NUMBER_BITS) - 1


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def tag_for(seed: int) -> str:
    """The run's tag: 7919 is odd, so this is a bijection on 0..32767."""
    return _encode((seed * 7919 + 12345) % TAG_SPACE, 3)


def uuid7(micros: int, rng: random.Random) -> int:
    """A UUIDv7 (as an int) stamped with ``micros``, its random bits from ``rng``.

    Time-ordered like the app's ``db.new_id()``: rows generated in time order
    append to the primary-key index instead of splitting pages all over it.
    """
    rand = rng.getrandbits(74)
    return (
        ((micros // 1000) << 80)
        | (0x7 << 76)
        | ((rand >> 62) << 64)
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )


class OrderNumbers:
    """``BR-`` + tag + 7 characters: a keyed permutation of the order's index, so
    numbers are unique by construction within a run and don't reveal the count."""

    def __init__(self, tag: str, rng: random.Random) -> None:
        self._prefix = "BR-" + tag
        self._xor = rng.getrandbits(_NUMBER_BITS)
        self._mul = rng.getrandbits(_NUMBER_BITS) | 1  # odd: invertible modulo 2**35
        self._add = rng.getrandbits(_NUMBER_BITS)

    def __call__(self, index: int) -> str:
        if not 0 <= index <= _NUMBER_MASK:
            raise ValueError("order index out of range")
        mixed = (((index ^ self._xor) * self._mul) + self._add) & _NUMBER_MASK
        return self._prefix + _encode(mixed, 7)
