"""Migrations: the migrated database equals the MetaData on both backends; downgrade works."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import metadata


def _diff(database_url: str) -> list[object]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _tables(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrated_schema_has_no_drift(database_url: str) -> None:
    migrations.upgrade(database_url)
    assert migrations.current_revision(database_url) == migrations.head_revision()
    assert _diff(database_url) == []


def test_downgrade_to_base_and_back(database_url: str) -> None:
    migrations.upgrade(database_url)
    assert _tables(database_url) == set(metadata.tables)
    migrations.downgrade(database_url, "base")
    assert migrations.current_revision(database_url) is None
    assert _tables(database_url) == set()
    migrations.upgrade(database_url)
    assert _diff(database_url) == []
