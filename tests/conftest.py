"""Shared fixtures: real PostgreSQL and Redis (skipped on a laptop without them, fail in CI)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import metadata
from servicecheck import redis_url, service_missing

PG_ADMIN_URL = os.environ.get(
    "VKPIPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("VKPIPE_TEST_REDIS_URL", redis_url("cache"))


@pytest.fixture(autouse=True)
def _clean_vkpipe_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests build Settings explicitly; a developer's VKPIPE_* variables or .env stay out."""
    for name in list(os.environ):
        if name.startswith("VKPIPE_") and not name.startswith("VKPIPE_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        service_missing("PostgreSQL", exc)
    finally:
        engine.dispose()
    return PG_ADMIN_URL


def _database(server_url: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, or empty), dropped afterwards."""
    name = f"vkpipe_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    yield from _database(postgres_server)


# Running the migrations takes ~0.5 s a database; copying a migrated one takes a fifth of that.
# Each test process migrates one database of each kind, and every test that wants a migrated
# database gets a copy of it (CREATE DATABASE ... TEMPLATE; a file copy for SQLite).
@pytest.fixture(scope="session")
def _migrated_postgres_template(postgres_server: str) -> Iterator[str]:
    for url in _database(postgres_server):
        migrations.upgrade(url)  # disposes its engine: a template must have no connections
        yield str(make_url(url).database)


@pytest.fixture
def migrated_postgres_url(postgres_server: str, _migrated_postgres_template: str) -> Iterator[str]:
    """A new PostgreSQL database at the migrations' head for one test, dropped afterwards."""
    yield from _database(postgres_server, _migrated_postgres_template)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vkpipe.db'}"


@pytest.fixture(scope="session")
def _migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "vkpipe.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_sqlite_url(sqlite_url: str, _migrated_sqlite_template: Path) -> str:
    """`sqlite_url`'s database, brought to the migrations' head (a copy of the template)."""
    shutil.copyfile(_migrated_sqlite_template, str(make_url(sqlite_url).database))
    return sqlite_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each supported kind."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_database_url(request: pytest.FixtureRequest) -> str:
    """A database at the migrations' head of each supported kind."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("migrated_sqlite_url"))
    return str(request.getfixturevalue("migrated_postgres_url"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_migrated_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of each kind that one module's tests share: only for tests whose
    requests change nothing (reads, and requests the API refuses)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shared") / "vkpipe.db"
        shutil.copyfile(request.getfixturevalue("_migrated_sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        server, template = (
            request.getfixturevalue(f) for f in ("postgres_server", "_migrated_postgres_template")
        )
        yield from _database(server, template)


def _engine(url: str) -> Iterator[Engine]:
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def pg_engine(migrated_postgres_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database, for what exists or is checked only there."""
    yield from _engine(migrated_postgres_url)


@pytest.fixture
def engine(migrated_database_url: str) -> Iterator[Engine]:
    """A migrated database of each supported kind."""
    yield from _engine(migrated_database_url)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of its own, flushed before and after the test."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


def table_names() -> list[str]:
    return sorted(metadata.tables)
