"""Read a CSV of groups to monitor; a bad row is reported with its line number, good rows stay."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from parser_pipeline.store.groups import CrawlSettings

# Accepted header names for each column; a file without a header has the group in column one.
_COLUMNS = {
    "group": ("group", "screen_name", "id", "name", "group_id", "url"),
    "crawl_interval_minutes": ("interval", "crawl_interval_minutes", "interval_minutes"),
    "priority": ("priority",),
    "max_post_age_days": ("max_post_age_days", "max_age_days", "depth"),
}
_LIMITS = {
    "crawl_interval_minutes": (1, 1440),
    "priority": (1, 10),
    "max_post_age_days": (1, 36500),
}


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    group: str
    settings: CrawlSettings


@dataclass(frozen=True, slots=True)
class ImportProblem:
    line: int
    message: str


def readable_lines(data: bytes) -> tuple[str, list[ImportProblem]]:
    """The text of an uploaded CSV (UTF-8, a BOM allowed) and one problem per line that is not
    UTF-8 or holds a NUL character (PostgreSQL cannot store one). Such a line is left empty, so
    the line numbers of the others stay; pure."""
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    kept: list[str] = []
    problems: list[ImportProblem] = []
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(ImportProblem(number, "the line is not UTF-8 text"))
            line = ""
        if "\x00" in line:
            problems.append(ImportProblem(number, "the line holds a NUL character (\\u0000)"))
            line = ""
        kept.append(line)
    return "\n".join(kept), problems


# Without a header the columns are, in this order: group, interval, priority, max age.
_POSITIONAL = {name: index for index, name in enumerate(_COLUMNS)}
_DELIMITERS = (",", ";", "\t")


def _delimiter(text: str) -> str:
    """The delimiter of the first data line (comments skipped): the most frequent candidate."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return max(_DELIMITERS, key=stripped.count)
    return ","


def parse_groups_csv(text: str) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Rows to add and problems by line number; pure."""
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    rows: list[ImportRow] = []
    problems: list[ImportProblem] = []
    columns: dict[str, int] = dict(_POSITIONAL)
    first_data_line = True
    for line_no, cells in enumerate(reader, start=1):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        is_first, first_data_line = first_data_line, False
        if is_first and _is_header(cells):
            columns = _header_columns(cells)
            if "group" not in columns:
                problems.append(ImportProblem(1, "the header has no 'group' column"))
                return [], problems
            continue
        try:
            rows.append(_row(line_no, cells, columns))
        except ValueError as exc:
            problems.append(ImportProblem(line_no, str(exc)))
    return rows, problems


def _is_header(cells: list[str]) -> bool:
    names = {name for names in _COLUMNS.values() for name in names}
    return any(c.lower() in names for c in cells)


def _header_columns(cells: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        for column, names in _COLUMNS.items():
            if cell.lower() in names and column not in found:
                found[column] = index
    return found


def _row(line_no: int, cells: list[str], columns: dict[str, int]) -> ImportRow:
    group = cells[columns["group"]] if columns["group"] < len(cells) else ""
    if not group:
        raise ValueError("the group is empty")
    values: dict[str, int] = {}
    for column, (low, high) in _LIMITS.items():
        index = columns.get(column)
        raw = cells[index] if index is not None and index < len(cells) else ""
        if not raw:
            continue
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValueError(f"{column} must be a whole number from {low} to {high}, not {raw!r}")
        values[column] = int(raw)
    return ImportRow(line_no, group, CrawlSettings(**values))
