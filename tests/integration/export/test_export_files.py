"""The file appears whole or not at all: temporary name, rename, --force, errors without debris."""

from __future__ import annotations

import errno
import io
import os
import re
from pathlib import Path
from typing import BinaryIO

import openpyxl
import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs

from exportdata import Dataset
from parser_pipeline.errors import ConfigError
from parser_pipeline.export.rows import COLUMNS
from parser_pipeline.export.service import ExportError, export
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.names import EXPORT_FORMATS

FORMATS = list(EXPORT_FORMATS)


class FullDisk(io.FileIO):
    """A real file on which the disk fills up after `room` bytes (ENOSPC)."""

    def __init__(self, path: Path, room: int) -> None:
        super().__init__(path, "xb")
        self.room = room

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_disk_full_leaves_no_file(
    engine: Engine, dataset: Dataset, out_dir: Path, fmt: str
) -> None:
    out = out_dir / f"out.{fmt}"
    opened: list[Path] = []

    def open_full(path: Path) -> BinaryIO:
        opened.append(path)
        return FullDisk(path, room=200)  # type: ignore[return-value]

    with pytest.raises(ExportError, match=r"no space left on the device of .*was not written"):
        export(engine, CommentFilter(), fmt, out, open_file=open_full)
    assert list(out_dir.iterdir()) == []  # neither the file nor its temporary
    assert opened
    assert opened[0].parent == out_dir
    assert opened[0].name.startswith(".out.")


@pytest.mark.parametrize("fmt", FORMATS)
def test_existing_file_needs_force(
    engine: Engine, dataset: Dataset, out_dir: Path, fmt: str
) -> None:
    out = out_dir / f"out.{fmt}"
    out.write_bytes(b"keep me")
    with pytest.raises(ConfigError, match=f"{out} exists; pass --force to overwrite it"):
        export(engine, CommentFilter(), fmt, out)
    assert out.read_bytes() == b"keep me"
    result = export(engine, CommentFilter(), fmt, out, force=True)
    assert result.rows == 13
    assert out.read_bytes() != b"keep me"
    assert sorted(p.name for p in out_dir.iterdir()) == [out.name]


def test_written_under_a_temporary_name_then_renamed(
    engine: Engine, dataset: Dataset, out_dir: Path
) -> None:
    out = out_dir / "out.csv"
    seen: list[tuple[int, bool]] = []

    def progress(rows: int) -> None:
        temporaries = [p for p in out_dir.iterdir() if p.name.endswith(".part")]
        seen.append((rows, out.exists() or len(temporaries) != 1))

    with capture_logs() as logs:
        result = export(engine, CommentFilter(), "csv", out, on_progress=progress, batch_rows=4)
    assert seen == [(4, False), (8, False), (12, False), (13, False)]
    assert result.path == out
    assert out.exists()
    assert [p.name for p in out_dir.iterdir()] == ["out.csv"]
    finished = [e for e in logs if e["event"] == "export.finished"]
    assert finished[0]["rows"] == 13
    assert finished[0]["format"] == "csv"


def test_a_crash_midway_removes_the_temporary(
    engine: Engine, dataset: Dataset, out_dir: Path
) -> None:
    def crash(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(engine, CommentFilter(), "parquet", out_dir / "x.parquet", on_progress=crash)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/out.csv", "directory .*missing does not exist"),
        ("file.txt/out.csv", "directory .*file.txt does not exist"),
        (".", "is a directory"),
    ],
)
def test_unwritable_target_is_one_clear_error(
    engine: Engine, out_dir: Path, where: str, message: str
) -> None:
    (out_dir / "file.txt").write_text("x")
    with pytest.raises(ConfigError, match=message):
        export(engine, CommentFilter(), "csv", out_dir / where)


def test_read_only_directory(engine: Engine, out_dir: Path) -> None:
    locked = out_dir / "locked"
    locked.mkdir(mode=0o500)
    # Permission bits do not stop root (CI runs as root); sysfs refuses new files to everyone.
    if os.geteuid() == 0:
        target, reason = Path("/sys/vkpipe-export-test.csv"), "Permission denied"
    else:
        target, reason = locked / "out.csv", f"directory {locked} is not writable"
    with pytest.raises(ConfigError, match=re.escape(f"cannot write {target}: {reason}")):
        export(engine, CommentFilter(), "csv", target)
    assert not target.exists()


def test_xlsx_splits_sheets_past_the_row_limit(
    engine: Engine, dataset: Dataset, out_dir: Path
) -> None:
    out = out_dir / "split.xlsx"
    export(engine, CommentFilter(), "xlsx", out, rows_per_sheet=5)  # header + 4 rows per sheet
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["comments", "comments 2", "comments 3", "comments 4"]
    ids = []
    for sheet in book.worksheets:
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        assert rows[0] == list(COLUMNS)
        assert len(rows) <= 5
        ids += [row[4] for row in rows[1:]]
    assert ids == [cid for _, cid in dataset.comment_ids]
