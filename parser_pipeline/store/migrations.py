"""Run the Alembic migrations in `migrations/` against a database URL, from code or the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import OperationalError

from parser_pipeline.errors import StorageError
from parser_pipeline.store.engine import check_connection, describe_db_error, make_engine

# migrations/ sits beside the package in a checkout and in the installed wheel alike.
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "migrations/versions is empty"
    return head


def current_revision(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        check_connection(engine)
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`; fails with StorageError if it cannot be reached."""
    _run(database_url, "upgrade", revision)


def downgrade(database_url: str, revision: str) -> None:
    _run(database_url, "downgrade", revision)


def _run(database_url: str, direction: str, revision: str) -> None:
    engine = make_engine(database_url)
    try:
        check_connection(engine)
        with engine.begin() as connection:
            config = alembic_config(database_url)
            config.attributes["connection"] = connection
            getattr(command, direction)(config, revision)
    except OperationalError as exc:
        raise StorageError(describe_db_error(engine, exc)) from None
    finally:
        engine.dispose()
