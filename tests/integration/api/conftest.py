"""Fixtures of the API tests: the API on a migrated database, the emulator for group adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apikit import EMULATOR_TOKENS, Api, open_api

from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        scenario="small", seed=1, tokens=EMULATOR_TOKENS, rate_limit_per_second=None
    )
    with run_emulator(config) as emu:
        yield emu


@pytest.fixture
def api(migrated_postgres_url: str, emulator: Emulator, tmp_path: Path) -> Iterator[Api]:
    """The API on a migrated PostgreSQL database."""
    yield from open_api(migrated_postgres_url, emulator, tmp_path / "exports")


@pytest.fixture
def any_api(migrated_database_url: str, emulator: Emulator, tmp_path: Path) -> Iterator[Api]:
    """The API on each database: SQLite (the demo) and PostgreSQL."""
    yield from open_api(migrated_database_url, emulator, tmp_path / "exports")


@pytest.fixture(scope="module")
def unchanged_api(
    module_migrated_database_url: str, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """The API on each database, one for the whole module: for tests whose requests change
    nothing (a database and an app for each of a hundred refused requests cost a minute)."""
    exports = tmp_path_factory.mktemp("exports")
    yield from open_api(module_migrated_database_url, emulator, exports)
