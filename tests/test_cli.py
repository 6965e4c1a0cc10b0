"""The CLI, run in-process through Typer's runner against the test database."""

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


def test_migrate_is_idempotent(env) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output


def test_create_user_then_duplicate_exits_1(env) -> None:  # type: ignore[no-untyped-def]
    args = [
        "create-user",
        "--email",
        "Ops@Example.com",
        "--password",
        "a-long-password-9",
        "--role",
        "staff",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, [*args[:2], "ops@example.com", *args[3:]])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_create_user_refuses_bad_input(env) -> None:  # type: ignore[no-untyped-def]
    weak = runner.invoke(app, ["create-user", "--email", "w@example.com", "--password", "short"])
    assert weak.exit_code == 1
    assert "at least 12" in weak.output
    role = runner.invoke(
        app, ["create-user", "--email", "r@example.com", "--password", "x" * 20, "--role", "root"]
    )
    assert role.exit_code == 2


def test_bootstrap_prints_a_password_once(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = runner.invoke(app, ["bootstrap"])
    assert first.exit_code == 0, first.output
    assert "password:" in first.output
    assert "demo catalog of 8 products" in first.output
    second = runner.invoke(app, ["bootstrap"])
    assert second.exit_code == 0
    assert "password:" not in second.output
    assert "demo catalog" not in second.output  # never seeded twice
    key = tmp_path / "data" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600


def test_placeholder_secret_is_refused(env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BACKROOM_SECRET_KEY", "changeme")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2
    assert "BACKROOM_SECRET_KEY" in result.output
