"""Run one export: stream the rows in batches into a temporary file, then rename it into place.

The file appears under its final name only when it is complete: it is written as a hidden
`.NAME.<random>.part` in the same directory (so the rename is atomic on one file system) and
renamed with `os.replace` after the last byte is flushed and synced. On any failure the temporary
file is removed, so a crash or a full disk never leaves a half file under the final name.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Final

import structlog
from sqlalchemy import Engine

from parser_pipeline.errors import ConfigError, ExportError, VkpipeError
from parser_pipeline.export.query import count_query, export_query
from parser_pipeline.export.rows import to_record
from parser_pipeline.export.writer import make_writer
from parser_pipeline.store.comment_filter import CommentFilter, where
from parser_pipeline.store.names import ExportFormat, export_format

log = structlog.get_logger(__name__)

# Rows fetched per round trip from the server-side cursor, written as one batch. 5,000 typical
# comments are a few MB of Python objects; more saves little time and costs flat memory.
FETCH_BATCH_ROWS: Final = 5_000
_DISK_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT})

Opener = Callable[[Path], BinaryIO]
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ExportResult:
    """Rows written and the final path; path None when an empty result was skipped."""

    rows: int
    path: Path | None


def _open_new(path: Path) -> BinaryIO:
    return open(path, "xb")  # closed by export(), on every path


def check_target(out_path: Path, *, force: bool) -> None:
    """Refuse an existing file without force, or a directory that is missing or not writable."""
    directory = out_path.parent
    if out_path.is_dir():
        raise ConfigError(f"{out_path} is a directory; name a file to write")
    if out_path.exists() and not force:
        raise ConfigError(f"{out_path} exists; pass --force to overwrite it")
    if not directory.is_dir():
        raise ConfigError(f"cannot write {out_path}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {out_path}: directory {directory} is not writable")


def temporary_path(out_path: Path) -> Path:
    """A hidden sibling of `out_path`, unique per run."""
    return out_path.with_name(f".{out_path.name}.{uuid.uuid4().hex[:12]}.part")


def count_rows(engine: Engine, filters: CommentFilter) -> int:
    """How many rows `export` would write now (for a progress bar)."""
    with engine.connect() as connection:
        query = export_query(where(connection, filters), dialect=connection.dialect.name)
        return int(connection.execute(count_query(query)).scalar_one())


def export(
    engine: Engine,
    filters: CommentFilter,
    fmt: str,
    out_path: Path,
    *,
    force: bool = False,
    excel: bool = False,
    on_progress: Progress | None = None,
    changed_since: datetime | None = None,
    skip_empty: bool = False,
    rows_per_sheet: int | None = None,
    batch_rows: int = FETCH_BATCH_ROWS,
    open_file: Opener = _open_new,
) -> ExportResult:
    """Write the comments `filters` select as `fmt` to `out_path`; the rows and the path.

    `changed_since` keeps only comments changed or analyzed after it (incremental exports);
    `skip_empty` writes no file when there is no row; `open_file` opens the temporary file
    (a seam for tests that need a failing disk).
    """
    kind = export_format(fmt)
    out_path = Path(out_path).absolute()
    check_target(out_path, force=force)
    started = time.perf_counter()
    temp = temporary_path(out_path)
    log.info("export.started", format=fmt, path=str(out_path))
    try:
        rows = _write(
            engine,
            filters,
            kind,
            temp,
            excel=excel,
            changed_since=changed_since,
            rows_per_sheet=rows_per_sheet,
            batch_rows=batch_rows,
            on_progress=on_progress,
            open_file=open_file,
        )
        if rows == 0 and skip_empty:
            temp.unlink()
            log.info("export.skipped_empty", format=fmt, path=str(out_path))
            return ExportResult(0, None)
        if out_path.exists() and not force:  # appeared while we were writing
            raise ConfigError(f"{out_path} exists; pass --force to overwrite it")
        os.replace(temp, out_path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        # The caller reports the error (one line for a user); the log keeps it for operators.
        log.info("export.failed", format=fmt, path=str(out_path), error=str(exc))
        if isinstance(exc, OSError):
            raise _translate(exc, out_path) from exc
        raise
    log.info(
        "export.finished",
        format=fmt,
        path=str(out_path),
        rows=rows,
        seconds=round(time.perf_counter() - started, 3),
    )
    return ExportResult(rows, out_path)


def _write(
    engine: Engine,
    filters: CommentFilter,
    fmt: ExportFormat,
    temp: Path,
    *,
    excel: bool,
    changed_since: datetime | None,
    rows_per_sheet: int | None,
    batch_rows: int,
    on_progress: Progress | None,
    open_file: Opener,
) -> int:
    rows = 0
    with engine.connect() as connection, open_file(temp) as file:
        query = export_query(
            where(connection, filters),
            dialect=connection.dialect.name,
            changed_since=changed_since,
        )
        writer = make_writer(fmt, file, excel=excel, rows_per_sheet=rows_per_sheet)
        try:
            # stream_results: a server-side cursor on PostgreSQL; yield_per: batch size.
            streaming = connection.execution_options(stream_results=True, yield_per=batch_rows)
            for batch in streaming.execute(query).partitions():
                records = [to_record(row) for row in batch]
                writer.write(records)
                rows += len(records)
                if on_progress is not None:
                    on_progress(rows)
            writer.finish()
        except BaseException:
            writer.abort()
            raise
        file.flush()
        _sync(file)
    return rows


def _sync(file: BinaryIO) -> None:
    """Put the bytes on disk before the rename makes the file visible (a crash keeps it whole)."""
    try:
        descriptor = file.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's wrapper)
    os.fsync(descriptor)


def _translate(exc: OSError, out_path: Path) -> VkpipeError:
    """A library's OSError as one line the user can act on."""
    code = _errno_of(exc)
    if code in _DISK_FULL:
        return ExportError(
            f"no space left on the device of {out_path.parent}; {out_path} was not written"
        )
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConfigError(f"cannot write {out_path}: {os.strerror(code)}")
    reason = exc.strerror or str(exc) or type(exc).__name__
    return ExportError(f"cannot write {out_path}: {reason}")


def _errno_of(exc: BaseException) -> int | None:
    """The errno of an OSError, or of one it was raised from (pyarrow wraps Python errors)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen.errno
        seen = seen.__cause__ or seen.__context__
    return None
