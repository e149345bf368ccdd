"""Fixtures for the store tests: a migrated PostgreSQL engine for PostgreSQL-only paths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from parser_pipeline.store.engine import make_engine


@pytest.fixture
def pg_engine(migrated_postgres_url: str) -> Iterator[Engine]:
    """A migrated PostgreSQL database (the COPY path exists only there)."""
    engine = make_engine(migrated_postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()
