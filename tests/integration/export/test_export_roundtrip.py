"""Every format read back with its own reader equals the database, row by row, on both backends."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from exportdata import LONG_TEXT, Dataset, database_view
from parser_pipeline.export.parquet_writer import SCHEMA
from parser_pipeline.export.rows import COLUMNS
from parser_pipeline.export.service import export
from parser_pipeline.export.xlsx_writer import xlsx_text
from parser_pipeline.store.comment_filter import CommentFilter

View = Callable[[], list[dict[str, Any]]]


def as_csv(row: dict[str, Any]) -> list[str]:
    """The documented CSV spelling of a database row."""
    out = []
    for name in COLUMNS:
        value = row[name]
        if value is None:
            out.append("")
        elif isinstance(value, bool):
            out.append("true" if value else "false")
        elif isinstance(value, list):
            out.append("|".join(value))
        elif name == "date":
            out.append(value.isoformat())
        else:
            out.append(str(value))
    return out


def read_csv(path: Path, *, excel: bool) -> list[list[str]]:
    with path.open(encoding="utf-8-sig" if excel else "utf-8", newline="") as f:
        return list(csv.reader(f, delimiter=";" if excel else ","))


@pytest.mark.parametrize("excel", [False, True], ids=["plain", "excel"])
def test_csv_round_trip(engine: Engine, view: View, out_dir: Path, excel: bool) -> None:
    out = out_dir / "out.csv"
    result = export(engine, CommentFilter(), "csv", out, excel=excel)
    rows = read_csv(out, excel=excel)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") is excel
    assert rows[0] == list(COLUMNS)
    assert rows[1:] == [as_csv(r) for r in view()]
    assert result.rows == len(rows) - 1 == 13


def test_jsonl_round_trip(engine: Engine, view: View, out_dir: Path) -> None:
    out = out_dir / "out.jsonl"
    export(engine, CommentFilter(), "jsonl", out)
    lines = out.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # every record ends with a newline, none spans two
    expected = [{**r, "date": r["date"].isoformat()} for r in view()]
    assert [json.loads(line) for line in lines[:-1]] == expected


def test_parquet_round_trip(engine: Engine, view: View, out_dir: Path) -> None:
    out = out_dir / "out.parquet"
    export(engine, CommentFilter(), "parquet", out)
    table = pq.read_table(out)
    assert table.schema.equals(SCHEMA)
    assert table.schema.field("date").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("keywords").type == pa.list_(pa.string())
    assert table.to_pylist() == view()


def as_xlsx(row: dict[str, Any]) -> list[Any]:
    """The documented XLSX cells of a database row: UTC dates, `|` lists, checked text."""
    out: list[Any] = []
    for name in COLUMNS:
        value = row[name]
        if name == "date":
            value = value.astimezone(UTC).replace(tzinfo=None)
        elif isinstance(value, list):
            value = "|".join(value)
        elif isinstance(value, str) and name in ("text", "group_name", "author_name"):
            value = xlsx_text(value)
        out.append(None if value == "" else value)
    return out


def test_xlsx_round_trip(engine: Engine, view: View, out_dir: Path) -> None:
    out = out_dir / "out.xlsx"
    export(engine, CommentFilter(), "xlsx", out)
    book = openpyxl.load_workbook(out)  # not read-only: cell types are visible
    assert book.sheetnames == ["comments"]
    sheet = book["comments"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == list(COLUMNS)
    assert rows[1:] == [as_xlsx(r) for r in view()]
    texts = {row[4].value: row[10] for row in sheet.iter_rows(min_row=2)}
    assert texts[8].data_type == "s"  # "=HYPERLINK(...)" is text, not a formula
    assert texts[9].data_type == "s"  # "#N/A" is text, not an error value
    assert texts[6].value == LONG_TEXT  # 4,096 characters, exactly


def test_special_texts_survive_exactly(engine: Engine, dataset: Dataset, out_dir: Path) -> None:
    """Emoji, newlines, CR, quotes, tabs, `;` and a 4,096-character text: identical in CSV,
    JSON Lines and Parquet; XLSX changes only what its docstring names."""
    texts = {r["comment_id"]: r["text"] for r in database_view_rows(engine)}
    for fmt in ("csv", "jsonl", "parquet"):
        out = out_dir / f"t.{fmt}"
        export(engine, CommentFilter(), fmt, out)
        if fmt == "csv":
            got = {int(r[4]): r[10] for r in read_csv(out, excel=False)[1:]}
        elif fmt == "jsonl":
            lines = out.read_text(encoding="utf-8").splitlines()
            got = {(o := json.loads(line))["comment_id"]: o["text"] for line in lines}
        else:
            got = {r["comment_id"]: r["text"] for r in pq.read_table(out).to_pylist()}
        assert got == texts, fmt
    assert texts[2] == "line1\nline2\r\nline3\rline4"
    assert len(texts[6]) == 4096


def database_view_rows(engine: Engine) -> list[dict[str, Any]]:

    return database_view(engine)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "xlsx"])
def test_empty_result_is_a_valid_file(engine: Engine, out_dir: Path, fmt: str) -> None:
    out = out_dir / f"empty.{fmt}"
    result = export(engine, CommentFilter(), fmt, out)
    assert result.rows == 0
    assert out.exists()
    if fmt == "csv":
        assert read_csv(out, excel=False) == [list(COLUMNS)]
    elif fmt == "jsonl":
        assert out.read_bytes() == b""
    elif fmt == "parquet":
        table = pq.read_table(out)
        assert table.num_rows == 0
        assert table.schema.equals(SCHEMA)
    else:
        sheet = openpyxl.load_workbook(out, read_only=True)["comments"]
        assert [[c.value for c in row] for row in sheet.iter_rows()] == [list(COLUMNS)]
