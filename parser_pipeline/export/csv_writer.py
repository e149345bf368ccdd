"""CSV: UTF-8 with `,`, or for Excel UTF-8 with a BOM and `;`; lists joined with `|`.

Values: integers as digits, the date as ISO 8601 with its offset (`2024-06-01T12:00:00+00:00`),
booleans as `true`/`false`, NULL as an empty field, text as stored (newlines, tabs and quotes
inside quoted fields, RFC 4180).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import BinaryIO

from parser_pipeline.export.rows import COLUMNS, ExportRecord, joined

# Excel opens a UTF-8 file as UTF-8 only with a byte order mark, and in most European locales
# splits columns on `;` (the list separator of the locale), not `,`.
EXCEL_ENCODING = "utf-8-sig"
EXCEL_DELIMITER = ";"


def csv_fields(record: ExportRecord) -> tuple[object, ...]:
    """The CSV fields of a record (pure)."""
    return (
        record.group_id,
        record.group_name,
        record.post_id,
        record.post_url,
        record.comment_id,
        record.comment_url,
        record.parent_comment_id,
        record.author_id,
        record.author_name,
        record.date.isoformat(),
        record.text,
        record.likes,
        "true" if record.is_deleted else "false",
        joined(record.keywords),
        joined(record.categories),
        record.review_state,
        joined(record.tags),
    )


class CsvWriter:
    """A header line, then one line per record (the csv module writes None as empty)."""

    def __init__(self, file: BinaryIO, *, excel: bool = False) -> None:
        self._text = io.TextIOWrapper(
            file, encoding=EXCEL_ENCODING if excel else "utf-8", newline="", errors="strict"
        )
        self._csv = csv.writer(self._text, delimiter=EXCEL_DELIMITER if excel else ",")
        self._csv.writerow(COLUMNS)

    def write(self, records: Sequence[ExportRecord]) -> None:
        self._csv.writerows(map(csv_fields, records))

    def finish(self) -> None:
        self._text.flush()
        self._text.detach()  # the file belongs to the caller, who closes it

    def abort(self) -> None:
        """Nothing to release: the caller closes and removes the file."""
