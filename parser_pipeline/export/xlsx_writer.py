"""XLSX: openpyxl's write-only workbook, a header row per sheet, a new sheet past Excel's limit.

What Excel cannot hold is changed, never silently dropped (`xlsx_text`):
- characters XML 1.0 forbids (control characters other than tab and newline, U+FFFE, U+FFFF)
  become U+FFFD (openpyxl would raise IllegalCharacterError);
- a carriage return becomes a newline (XML readers turn CR and CRLF into LF anyway);
- text over Excel's 32,767 characters per cell is cut and ends with TRUNCATED_MARK.
Text that looks like a formula (`=...`) or an error code (`#N/A`) stays text. Dates are Excel
dates in UTC (Excel has no time zones); lists are joined with `|`; an empty text is an empty cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC
from typing import Any, BinaryIO, Final
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from parser_pipeline.export.rows import COLUMNS, ExportRecord, joined

# Excel's hard limits (Microsoft, "Excel specifications and limits").
EXCEL_MAX_ROWS: Final = 1_048_576  # rows per sheet, the header row included
EXCEL_MAX_CELL_CHARS: Final = 32_767  # characters per cell
TRUNCATED_MARK: Final = " [...truncated]"
REPLACEMENT_CHAR: Final = "\ufffd"
SHEET_NAME: Final = "comments"
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_COLUMNS: Final = frozenset({"group_name", "author_name", "text", "tags"})


def xlsx_text(value: str) -> str:
    """The text a cell can hold for `value` (pure; see the module docstring)."""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _ILLEGAL_XML.sub(REPLACEMENT_CHAR, value)
    if len(value) > EXCEL_MAX_CELL_CHARS:
        value = value[: EXCEL_MAX_CELL_CHARS - len(TRUNCATED_MARK)] + TRUNCATED_MARK
    return value


def sheet_name(index: int) -> str:
    """`comments`, then `comments 2`, `comments 3`... (index from 1)."""
    return SHEET_NAME if index == 1 else f"{SHEET_NAME} {index}"


def xlsx_values(record: ExportRecord) -> list[Any]:
    """The cell values of a record before the text check (pure)."""
    return [
        record.group_id,
        record.group_name,
        record.post_id,
        record.post_url,
        record.comment_id,
        record.comment_url,
        record.parent_comment_id,
        record.author_id,
        record.author_name,
        record.date.astimezone(UTC).replace(tzinfo=None),
        record.text,
        record.likes,
        record.is_deleted,
        joined(record.keywords),
        joined(record.categories),
        record.review_state,
        joined(record.tags),
    ]


_TEXT_INDEXES: Final = tuple(i for i, name in enumerate(COLUMNS) if name in _TEXT_COLUMNS)


class XlsxWriter:
    """Rows go to openpyxl's temporary sheet files; `finish` zips them into `file`."""

    def __init__(self, file: BinaryIO, *, rows_per_sheet: int = EXCEL_MAX_ROWS) -> None:
        if not 2 <= rows_per_sheet <= EXCEL_MAX_ROWS:
            raise ValueError(f"rows_per_sheet must be 2..{EXCEL_MAX_ROWS}, not {rows_per_sheet}")
        self._file = file
        self._limit = rows_per_sheet
        self._workbook = Workbook(write_only=True)
        self._sheets = 0
        self._rows = 0
        self._sheet = self._new_sheet()

    def _new_sheet(self) -> WriteOnlyWorksheet:
        self._sheets += 1
        sheet: WriteOnlyWorksheet = self._workbook.create_sheet(sheet_name(self._sheets))
        sheet.append(COLUMNS)
        self._rows = 1
        return sheet

    def _cells(self, record: ExportRecord) -> list[Any]:
        values = xlsx_values(record)
        for index in _TEXT_INDEXES:
            text = values[index]
            if text is None:
                continue
            text = xlsx_text(text)
            if text.startswith("=") or text in ERROR_CODES:
                cell = WriteOnlyCell(self._sheet, text)
                cell.data_type = "s"  # text, not a formula or an error value
                text = cell
            values[index] = text
        return values

    def write(self, records: Sequence[ExportRecord]) -> None:
        for record in records:
            if self._rows >= self._limit:
                self._sheet = self._new_sheet()
            self._sheet.append(self._cells(record))
            self._rows += 1

    @property
    def sheets(self) -> int:
        return self._sheets

    def finish(self) -> None:
        # What Workbook.save does, with the zip archive in our hands: after a failed write
        # (a full disk) it must not try to finish itself later, from the garbage collector.
        archive = ZipFile(self._file, "w", ZIP_DEFLATED, allowZip64=True)
        try:
            ExcelWriter(self._workbook, archive).save()
        except BaseException:
            archive.fp = None  # abandon: the caller removes the file
            raise

    def abort(self) -> None:
        """Close every sheet's row stream and remove its temporary file (openpyxl keeps one per
        sheet in the temp directory until `save` has zipped it, or until the process exits)."""
        for sheet in self._workbook.worksheets:
            # openpyxl has no public way to discard a write-only workbook.
            with suppress(Exception):
                if not sheet.closed:
                    sheet.close()
            with suppress(Exception):
                sheet._writer.cleanup()  # type: ignore[attr-defined]
