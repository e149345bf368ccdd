"""Parquet: an explicit typed schema, one row group per ROW_GROUP_ROWS records.

Types: int64 ids and likes, timestamp[us, UTC] dates, UTF-8 strings, bool, list<string> for
keywords and categories. An empty export is a valid file with the schema and no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import BinaryIO, Final

import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from parser_pipeline.export.rows import COLUMNS, ExportRecord

SCHEMA: Final = pa.schema(
    [
        pa.field("group_id", pa.int64(), nullable=False),
        pa.field("group_name", pa.string()),
        pa.field("post_id", pa.int64(), nullable=False),
        pa.field("post_url", pa.string(), nullable=False),
        pa.field("comment_id", pa.int64(), nullable=False),
        pa.field("comment_url", pa.string(), nullable=False),
        pa.field("parent_comment_id", pa.int64()),
        pa.field("author_id", pa.int64()),
        pa.field("author_name", pa.string()),
        pa.field("date", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("likes", pa.int64(), nullable=False),
        pa.field("is_deleted", pa.bool_(), nullable=False),
        pa.field("keywords", pa.list_(pa.string()), nullable=False),
        pa.field("categories", pa.list_(pa.string()), nullable=False),
        pa.field("review_state", pa.string(), nullable=False),
        pa.field("tags", pa.list_(pa.string()), nullable=False),
    ]
)
assert tuple(SCHEMA.names) == COLUMNS, "the Parquet schema follows ExportRecord"

# Records buffered per row group. Memory grows with it: a flush of 50,000 typical comments
# peaked at about 190 MB over the imports, one of 10,000 at about 70 MB (bench/export.py);
# 10,000-row groups still compress well and every reader skips through them by statistics.
ROW_GROUP_ROWS: Final = 10_000
# Snappy: what pandas and Spark write by default; every Parquet reader and BI tool knows it.
COMPRESSION: Final = "snappy"


def to_table(records: Sequence[ExportRecord]) -> pa.Table:
    """Records as an Arrow table of SCHEMA (pure)."""
    columns = list(zip(*records, strict=True)) if records else [() for _ in COLUMNS]
    arrays = [
        pa.array(column, type=field.type) for column, field in zip(columns, SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


class ParquetRecordWriter:
    def __init__(self, file: BinaryIO, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self._writer = pq.ParquetWriter(file, SCHEMA, compression=COMPRESSION)
        self._pending: list[ExportRecord] = []
        self._row_group_rows = row_group_rows

    def write(self, records: Sequence[ExportRecord]) -> None:
        self._pending.extend(records)
        if len(self._pending) >= self._row_group_rows:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(to_table(self._pending), row_group_size=len(self._pending))
            self._pending = []

    def finish(self) -> None:
        self._flush()
        self._writer.close()

    def abort(self) -> None:
        """Drop the buffered rows and close the writer while the file is still open (else
        pyarrow closes it from the garbage collector, onto a closed file)."""
        self._pending = []
        with suppress(Exception):
            self._writer.close()
        self._writer.is_open = False  # closing failed (a full disk): never try again
