"""The import's row validator accepts exactly what the API's ProductCreate accepts
(for the fields they share), checked on generated JSON values."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from backroom.catalog.schemas import ProductCreate
from backroom.imports.rows import RowError, validate

_numbers = st.one_of(
    st.integers(min_value=-5, max_value=1_000_000_005),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0.0, 12.0, 12.5, 1e9, 1e9 + 1]),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
)
_texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "a\x00b", "x" * 200, "x" * 201, "y" * 20_000, "y" * 20_001]),
    st.integers(),
    st.none(),
)
_rows = st.fixed_dictionaries(
    {
        "sku": st.one_of(
            st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True), st.text(max_size=70)
        ),
        "name": _texts,
        "price_cents": _numbers,
    },
    optional={
        "description": _texts.filter(lambda v: v is not None),  # null means "" only in imports
        "stock": _numbers,
        "is_active": st.one_of(st.booleans(), st.integers(0, 1), st.text(max_size=5)),
    },
)


@settings(max_examples=400, deadline=None)
@given(_rows)
def test_ndjson_rows_follow_the_api_rules(row: dict[str, Any]) -> None:
    try:
        ProductCreate.model_validate_json(json.dumps(row))
        api_accepts = True
    except ValidationError:
        api_accepts = False
    result = validate(7, row, typed=True)
    assert (not isinstance(result, RowError)) == api_accepts, (row, result)


def test_csv_cells() -> None:
    ok = validate(
        2, {"sku": "A-1", "name": "N", "price_cents": " 42 ", "is_active": "TRUE"}, typed=False
    )
    assert not isinstance(ok, RowError)
    assert ok.values == {"name": "N", "price_cents": 42, "is_active": True}
    empty = validate(
        3, {"sku": "A-1", "stock": "", "description": "", "category_slug": ""}, typed=False
    )
    assert not isinstance(empty, RowError)
    assert empty.values == {"description": "", "category_slug": None}  # empty stock: unchanged
    for field, value in [
        ("price_cents", "1e3"),
        ("stock", "-1"),
        ("is_active", "yes"),
        ("name", "a\x00"),
    ]:
        bad = validate(4, {"sku": "A-1", field: value}, typed=False)
        assert isinstance(bad, RowError) and bad.field == field, (field, bad)
