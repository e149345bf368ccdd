"""Scratch PostgreSQL databases for the benchmarks: created migrated, dropped on exit."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from parser_pipeline.store import migrations

ADMIN_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return os.environ.get("VKPIPE_BENCH_POSTGRES_URL", ADMIN_URL_DEFAULT)


@contextmanager
def scratch_database(admin: str, prefix: str = "vkpipe_bench") -> Iterator[str]:
    """A new migrated database `<prefix>_<random>`, dropped (with its connections) on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        try:
            migrations.upgrade(url)
            yield url
        finally:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()
