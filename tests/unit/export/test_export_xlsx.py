"""The XLSX text check, sheet names, and text that must not become a formula."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import openpyxl
import pytest

from parser_pipeline.export.rows import ExportRecord
from parser_pipeline.export.xlsx_writer import (
    EXCEL_MAX_CELL_CHARS,
    TRUNCATED_MARK,
    XlsxWriter,
    sheet_name,
    xlsx_text,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain 😀 текст", "plain 😀 текст"),
        ("tab\tnewline\n", "tab\tnewline\n"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("bell\x07 esc\x1b nul\x00", "bell\ufffd esc\ufffd nul\ufffd"),
        ("\ufffe\uffff", "\ufffd\ufffd"),
        ("x" * 4096, "x" * 4096),
        ("x" * EXCEL_MAX_CELL_CHARS, "x" * EXCEL_MAX_CELL_CHARS),
    ],
)
def test_xlsx_text(text: str, expected: str) -> None:
    assert xlsx_text(text) == expected


def test_too_long_text_is_cut_with_a_mark() -> None:
    cut = xlsx_text("y" * (EXCEL_MAX_CELL_CHARS + 10))
    assert len(cut) == EXCEL_MAX_CELL_CHARS
    assert cut.endswith(TRUNCATED_MARK)


def test_sheet_names() -> None:
    assert [sheet_name(i) for i in (1, 2, 10)] == ["comments", "comments 2", "comments 10"]


def record(comment_id: int, text: str) -> ExportRecord:
    return ExportRecord(
        1, "=cmd|' /C calc'!A0", 2, "u", comment_id, "u", None, None, None,
        datetime(2024, 6, 1, tzinfo=UTC), text, 0, False, [], [], "new", [],
    )  # fmt: skip


def test_formulas_and_error_codes_stay_text() -> None:
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer, rows_per_sheet=3)
    writer.write([record(1, "=1+2"), record(2, "#DIV/0!"), record(3, "+7 999")])
    writer.finish()
    assert writer.sheets == 2
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    cells = [row for sheet in book.worksheets for row in sheet.iter_rows(min_row=2)]
    assert next((c[1].value, c[1].data_type) for c in cells) == ("=cmd|' /C calc'!A0", "s")
    assert [(c[10].value, c[10].data_type) for c in cells] == [
        ("=1+2", "s"),
        ("#DIV/0!", "s"),
        ("+7 999", "s"),
    ]


def test_rows_per_sheet_bounds() -> None:
    with pytest.raises(ValueError, match="rows_per_sheet"):
        XlsxWriter(io.BytesIO(), rows_per_sheet=1)
