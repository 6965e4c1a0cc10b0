"""`backroom seed` from the command line (in-process, against the test database)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from backroom.cli import app

runner = CliRunner()


@pytest.fixture
def env(prepared, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BACKROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BACKROOM_DATABASE_URL", prepared["database_url"])
    monkeypatch.delenv("BACKROOM_SECRET_KEY", raising=False)


def test_seed_prints_a_summary_then_refuses_the_same_seed(env) -> None:  # type: ignore[no-untyped-def]
    args = ["seed", "--products", "30", "--customers", "10", "--orders", "60", "--seed", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "customer_order" in first.output and "60" in first.output
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "already written" in again.output
    other = runner.invoke(app, [*args[:-1], "4", "--now", "2026-01-01T00:00:00"])
    assert other.exit_code == 0, other.output


def test_seed_refuses_orders_without_customers(env) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["seed", "--customers", "0", "--orders", "5"])
    assert result.exit_code == 2
    assert "at least one product and one customer" in result.output
