"""Export fixtures: the dataset inserted into each test's database, and a directory to write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from exportdata import Dataset, database_view, insert_dataset


@pytest.fixture
def dataset(engine: Engine) -> Dataset:
    return insert_dataset(engine)


@pytest.fixture
def view(engine: Engine, dataset: Dataset) -> Callable[[], list[dict[str, Any]]]:
    return lambda: database_view(engine)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A directory for exported files only (the SQLite database lives beside it)."""
    directory = tmp_path / "out"
    directory.mkdir()
    return directory
