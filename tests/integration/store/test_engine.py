"""SQLite engines: the settings every connection gets."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from parser_pipeline.store.engine import SQLITE_BUSY_TIMEOUT_MS, make_engine

SQLITE_SYNCHRONOUS_NORMAL = 1  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL


def test_a_sqlite_file_is_written_ahead_with_a_sync_at_checkpoints_only(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'vkpipe.db'}")
    try:
        with engine.connect() as connection:
            pragma = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": SQLITE_SYNCHRONOUS_NORMAL,
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    }
