"""The writer protocol every format implements, and the factory that picks one by format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import BinaryIO, Protocol

from parser_pipeline.export.rows import ExportRecord
from parser_pipeline.store.names import ExportFormat


class RecordWriter(Protocol):
    """Writes records to a binary file it does not own; `finish` completes the file's format,
    `abort` releases what a failed export holds (temporary files) and never raises."""

    def write(self, records: Sequence[ExportRecord]) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


def make_writer(
    fmt: ExportFormat, file: BinaryIO, *, excel: bool = False, rows_per_sheet: int | None = None
) -> RecordWriter:
    """A writer of `fmt` on `file`; the header (or schema) is written at once."""
    # Imported here: pyarrow and openpyxl take a while to import, and one export needs one.
    if fmt is ExportFormat.csv:
        from parser_pipeline.export.csv_writer import CsvWriter

        return CsvWriter(file, excel=excel)
    if fmt is ExportFormat.jsonl:
        from parser_pipeline.export.jsonl_writer import JsonlWriter

        return JsonlWriter(file)
    if fmt is ExportFormat.parquet:
        from parser_pipeline.export.parquet_writer import ParquetRecordWriter

        return ParquetRecordWriter(file)
    from parser_pipeline.export.xlsx_writer import EXCEL_MAX_ROWS, XlsxWriter

    return XlsxWriter(file, rows_per_sheet=rows_per_sheet or EXCEL_MAX_ROWS)
