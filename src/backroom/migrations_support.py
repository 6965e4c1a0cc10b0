"""Running Alembic from code: the CLI, the server at start-up, and the tests use this."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def _script_location() -> Path:
    return Path(str(resources.files("backroom").joinpath("migrations")))


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply pending migrations. Synchronous: call from a thread inside an event loop."""
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    script = ScriptDirectory(str(_script_location()))
    return script.get_current_head()
