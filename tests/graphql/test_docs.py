from __future__ import annotations

from pathlib import Path

from backroom.graphql.schema import schema

DOC = Path(__file__).parents[2] / "docs" / "graphql.md"


def test_the_docs_show_the_schema_as_it_is() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"```graphql\n{schema.as_str()}\n```" in text
