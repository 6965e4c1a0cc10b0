"""Running Alembic from code: the CLI, the server at start-up, and the tests use this."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

# The newest migration. Web workers compare the database with it (``/readyz``)
# without importing Alembic, which costs each process about 9 MB; the tests check
# that it is Alembic's own head, so a new migration can't be forgotten here.
HEAD_REVISION = "0012"


def _script_location() -> Path:
    return Path(str(resources.files("backroom").joinpath("migrations")))


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

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
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str:
    return HEAD_REVISION


def alembic_head() -> str | None:
    """The head as Alembic computes it from the migration files."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(_script_location())).get_current_head()
