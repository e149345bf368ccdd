"""Engines for PostgreSQL (psycopg 3) and SQLite; connection failures become StorageError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from parser_pipeline.errors import StorageError

# How long SQLite waits on a lock held by another connection before giving up; the embedded
# mode runs the crawler and the CLI against one file.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Seconds to wait for PostgreSQL to accept a connection before reporting it unreachable.
PG_CONNECT_TIMEOUT_SECONDS = 5


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    """An Engine for `database_url`; SQLite gets WAL, foreign keys and a busy timeout."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS, **kwargs.pop("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
        cursor.execute("PRAGMA journal_mode=WAL")
        # No fsync at every commit, only at checkpoints: what SQLite recommends for WAL. A
        # killed process loses nothing; a power cut may roll back the last commits, whole and
        # consistent (a batch's answers with the batch's own state), and the next crawl sends
        # those batches again. A crawl commits ten times a second; the fsyncs were 6% of it.
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def describe_db_error(engine: Engine, exc: BaseException) -> str:
    """One line naming the database (password hidden) and the driver's first line of complaint."""
    where = engine.url.render_as_string(hide_password=True)
    original = getattr(exc, "orig", None) or exc
    reason = str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__
    return f"database {where}: {reason}"


def check_connection(engine: Engine) -> None:
    """Connect once; raise StorageError with a clear line when the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        raise StorageError(
            describe_db_error(engine, exc)
            + " (check VKPIPE_DATABASE_URL and that the server is running)"
        ) from None


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction; database errors leave it as StorageError naming the database."""
    try:
        with engine.begin() as connection:
            yield connection
    except OperationalError as exc:
        raise StorageError(describe_db_error(engine, exc)) from exc


Query = TypeVar("Query", bound=Select[Any])


def for_update(
    connection: Connection, query: Query, *, skip_locked: bool = False, of: Any = None
) -> Query:
    """`query` with FOR UPDATE (row locks) on PostgreSQL; as it is on SQLite, which has no row
    locks and needs none (one writer at a time holds the whole database)."""
    if connection.dialect.name != "postgresql":
        return query
    return query.with_for_update(skip_locked=skip_locked, of=of)
