"""Shared fixtures: real PostgreSQL and Redis (skipped on a laptop without them, fail in CI)."""

from __future__ import annotations

import os
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


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"vkpipe_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'vkpipe.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each supported kind."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database of each supported kind."""
    migrations.upgrade(database_url)
    eng = make_engine(database_url)
    try:
        yield eng
    finally:
        eng.dispose()


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
