"""Alembic environment: runs migrations against the database of vkpipe's Settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url")
    if url is None:
        from parser_pipeline.settings import load_settings

        url = load_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("vkpipe migrations run online only: use `vkpipe db upgrade`")
run_migrations_online()
