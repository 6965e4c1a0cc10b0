"""Fill a fresh database with N products (and their opening-stock ledger lines) in
set-based SQL, for benchmarks. The real bulk path (imports, `backroom seed`) comes
with the batch issue; this only needs to be fast and consistent."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import asyncpg

_WORDS = "alpine canvas cotton denim linen merino nylon oak steel walnut wool trail"


async def postgres(dsn: str, count: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"""
            INSERT INTO product (id, sku, slug, name, description, price_cents, stock,
                                 category_id, is_active, attributes, version,
                                 created_at, updated_at)
            SELECT gen_random_uuid(), 'SKU-' || lpad(i::text, 7, '0'), 'product-' || i,
                   'Product ' || i || ' ' || (string_to_array('{_WORDS}', ' '))[1 + i % 12],
                   'A fine ' || (string_to_array('{_WORDS}', ' '))[1 + (i * 7) % 12] || ' item',
                   100 + (i * 37) % 100000, (i * 13) % 50, NULL, i % 20 <> 0, '{{}}'::jsonb, 1,
                   now() - make_interval(secs => i), now() - make_interval(secs => i)
            FROM generate_series(1, $1) AS i
            """,
            count,
        )
        await conn.execute(
            """
            INSERT INTO stock_movement
                (id, product_id, delta, reason, note, stock_after, created_at)
            SELECT gen_random_uuid(), id, stock, 'import', 'benchmark seed', stock, created_at
            FROM product WHERE stock > 0
            """
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def sqlite(path: Path, count: int) -> None:
    # Timestamps in SQLAlchemy's own SQLite format (microseconds included), so keyset
    # comparisons, which are textual on SQLite, order them as the app's own rows.
    conn = sqlite3.connect(path)
    words = _WORDS.split()
    try:
        rows = [
            (
                f"{i:032x}", f"SKU-{i:07d}", f"product-{i}", f"Product {i} {words[i % 12]}",
                f"A fine {words[(i * 7) % 12]} item", 100 + (i * 37) % 100000, (i * 13) % 50,
                i % 20 != 0, i,
            )
            for i in range(1, count + 1)
        ]  # fmt: skip
        conn.executemany(
            """INSERT INTO product (id, sku, slug, name, description, price_cents, stock,
                   category_id, is_active, attributes, version, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, '{}', 1,
                       datetime('2026-01-01', '-' || ? || ' seconds') || '.000000',
                       datetime('2026-01-01', '-' || ? || ' seconds') || '.000000')""",
            [(*r, r[-1]) for r in rows],
        )
        conn.execute(
            """INSERT INTO stock_movement
                   (id, product_id, delta, reason, note, stock_after, created_at)
               SELECT lower(hex(randomblob(16))), id, stock, 'import', 'benchmark seed', stock,
                      created_at
               FROM product WHERE stock > 0"""
        )
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()


if __name__ == "__main__":
    import sys

    target, n = sys.argv[1], int(sys.argv[2])
    if target.startswith("postgresql://"):
        asyncio.run(postgres(target, n))
    else:
        sqlite(Path(target), n)
