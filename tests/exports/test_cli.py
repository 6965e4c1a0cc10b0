"""``backroom export products``: run through Typer's runner in a worker thread (the
command runs its own event loop) against the database the test's app uses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from httpx import AsyncClient
from typer.testing import CliRunner, Result

from backroom.cli import app
from tests.exports.helpers import download, tricky_catalog
from tests.factories import Actors

runner = CliRunner()


def _leftovers(directory: Path) -> list[Path]:
    return list(directory.glob("*.part"))


async def _export(prepared: dict[str, Any], tmp_path: Path, *args: str) -> Result:
    env = {
        "BACKROOM_DATABASE_URL": prepared["database_url"],
        "BACKROOM_DATA_DIR": str(tmp_path / "cli-data"),
        "BACKROOM_SECRET_KEY": None,
        "BACKROOM_REDIS_URL": None,
    }
    return await asyncio.to_thread(runner.invoke, app, ["export", "products", *args], env=env)


async def test_writes_the_bytes_of_the_http_export(
    client: AsyncClient, actors: Actors, prepared: dict[str, Any], tmp_path: Path
) -> None:
    staff = await actors.staff()
    await tricky_catalog(client, staff)
    target = tmp_path / "catalog.csv"
    result = await _export(prepared, tmp_path, str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == await download(client, "products.csv", staff)
    assert "Export finished" in result.output
    assert "products" in result.output
    assert not _leftovers(tmp_path)


async def test_format_from_the_extension_or_the_option(
    client: AsyncClient, actors: Actors, prepared: dict[str, Any], tmp_path: Path
) -> None:
    staff = await actors.staff()
    await tricky_catalog(client, staff)
    ndjson = await download(client, "products.ndjson", staff)
    by_extension = tmp_path / "catalog.ndjson"
    assert (await _export(prepared, tmp_path, str(by_extension))).exit_code == 0
    assert by_extension.read_bytes() == ndjson
    by_option = tmp_path / "catalog.txt"
    result = await _export(prepared, tmp_path, str(by_option), "--format", "ndjson")
    assert result.exit_code == 0, result.output
    assert [orjson.loads(line)["sku"] for line in by_option.read_bytes().splitlines()] == [
        "A-1", "B-2", "C-3",
    ]  # fmt: skip


async def test_failures_exit_non_zero_with_a_reason(
    prepared: dict[str, Any], tmp_path: Path
) -> None:
    missing = await _export(prepared, tmp_path, str(tmp_path / "nowhere" / "catalog.csv"))
    assert missing.exit_code == 1
    assert "no such directory" in missing.output
    unknown = await _export(prepared, tmp_path, str(tmp_path / "catalog.xlsx"))
    assert unknown.exit_code == 2
    assert "--format" in unknown.output
    bad = await _export(prepared, tmp_path, str(tmp_path / "c.csv"), "--format", "xml")
    assert bad.exit_code == 2
    assert not (tmp_path / "c.csv").exists()


async def test_a_database_failure_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "catalog.csv"
    unmigrated = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"}
    result = await _export(unmigrated, tmp_path, str(target))
    assert result.exit_code == 1
    assert "export failed" in result.output
    assert not target.exists()
    assert not _leftovers(tmp_path)
