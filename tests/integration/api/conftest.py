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
def api(postgres_url: str, emulator: Emulator, tmp_path: Path) -> Iterator[Api]:
    """The API on a migrated PostgreSQL database."""
    yield from open_api(postgres_url, emulator, tmp_path / "exports")


@pytest.fixture
def any_api(database_url: str, emulator: Emulator, tmp_path: Path) -> Iterator[Api]:
    """The API on each database: SQLite (the demo) and PostgreSQL."""
    yield from open_api(database_url, emulator, tmp_path / "exports")
