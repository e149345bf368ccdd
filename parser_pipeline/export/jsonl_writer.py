"""JSON Lines: one JSON object per comment, UTF-8, keys as the columns, lists as arrays.

The date is ISO 8601 with its offset; NULL is `null`. Newlines inside text are escaped by JSON,
so every record is exactly one line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, BinaryIO

from parser_pipeline.export.rows import COLUMNS, ExportRecord


def json_object(record: ExportRecord) -> dict[str, Any]:
    """The JSON object of a record (pure)."""
    values = dict(zip(COLUMNS, record, strict=True))
    values["date"] = record.date.isoformat()
    return values


class JsonlWriter:
    """No header: an empty export is an empty file."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def write(self, records: Sequence[ExportRecord]) -> None:
        encode = self._encoder.encode
        lines = "".join(encode(json_object(r)) + "\n" for r in records)
        self._file.write(lines.encode("utf-8"))

    def finish(self) -> None:
        self._file.flush()

    def abort(self) -> None:
        """Nothing to release: the caller closes and removes the file."""
