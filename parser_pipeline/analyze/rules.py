"""Keyword rules as typed records: validation, CSV import (bad rows by line number) and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from parser_pipeline.analyze.text import PART_RE, WORD_RE
from parser_pipeline.groups_import import ImportProblem
from parser_pipeline.store.schema import MATCH_MODES

MODE_WORD_FORMS: Final = "word_forms"
MODE_EXACT_WORD: Final = "exact_word"
MODE_SUBSTRING: Final = "substring"

# A keyword is a word or a short phrase; anything longer is a pasted paragraph by mistake.
MAX_PHRASE_CHARS: Final = 200
# Words of a phrase: every word's lemmas multiply the automaton's paths, and a reader's
# "phrase" is a name or a collocation, not a sentence.
MAX_PHRASE_WORDS: Final = 8
# The `category` column's width (String(255)).
MAX_CATEGORY_CHARS: Final = 255

CSV_COLUMNS: Final = ("phrase", "category", "mode", "case_sensitive", "exclude")
_HEADER_NAMES: Final = {
    "phrase": ("phrase", "keyword"),
    "category": ("category",),
    "mode": ("mode", "match_mode"),
    "case_sensitive": ("case_sensitive", "case"),
    "exclude": ("exclude", "is_exclusion", "exclusion", "minus"),
}
_TRUE: Final = frozenset({"1", "true", "yes", "y", "on", "да"})
_FALSE: Final = frozenset({"", "0", "false", "no", "n", "off", "нет"})


@dataclass(frozen=True, slots=True)
class KeywordSpec:
    """A rule as a user writes it (no id yet)."""

    phrase: str
    category: str = ""
    match_mode: str = MODE_WORD_FORMS
    case_sensitive: bool = False
    is_exclusion: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """A stored, active rule: what the matching engine compiles."""

    id: int
    phrase: str
    category: str
    match_mode: str
    case_sensitive: bool
    is_exclusion: bool


@dataclass(frozen=True, slots=True)
class KeywordRow:
    """A line of an imported CSV that became a valid rule."""

    line: int
    spec: KeywordSpec


def phrase_words(phrase: str) -> list[str]:
    """The words of a phrase, as the tokenizer cuts a comment."""
    return WORD_RE.findall(phrase)


def make_spec(
    phrase: str,
    category: str = "",
    match_mode: str = MODE_WORD_FORMS,
    *,
    case_sensitive: bool = False,
    is_exclusion: bool = False,
) -> KeywordSpec:
    """A valid rule; ValueError names what is wrong. Whitespace runs in a phrase become one."""
    if match_mode not in MATCH_MODES:
        raise ValueError(f"mode must be one of {', '.join(MATCH_MODES)}, not {match_mode!r}")
    category = category.strip()
    if len(category) > MAX_CATEGORY_CHARS:
        raise ValueError(f"the category is longer than {MAX_CATEGORY_CHARS} characters")
    if match_mode == MODE_SUBSTRING:
        cleaned = phrase.strip()
        if not cleaned:
            raise ValueError("the phrase is empty")
    else:
        cleaned = " ".join(phrase.split())
        if not cleaned:
            raise ValueError("the phrase is empty")
        words = phrase_words(cleaned)
        if " ".join(words) != cleaned:
            raise ValueError(
                f"phrase {cleaned!r} has characters other than words and spaces; "
                "use --mode substring to match it literally"
            )
        if len(words) > MAX_PHRASE_WORDS:
            raise ValueError(f"a phrase has at most {MAX_PHRASE_WORDS} words")
        if not any(PART_RE.search(w) for w in words):
            raise ValueError("the phrase has no word")
    if len(cleaned) > MAX_PHRASE_CHARS:
        raise ValueError(f"the phrase is longer than {MAX_PHRASE_CHARS} characters")
    return KeywordSpec(cleaned, category, match_mode, case_sensitive, is_exclusion)


def _flag(raw: str, column: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{column} must be true or false (yes/no, 1/0), not {raw!r}")


def parse_keywords_csv(text: str) -> tuple[list[KeywordRow], list[ImportProblem]]:
    """Rules and problems by line number; pure.

    Columns (a header row may name them in any order): phrase, category, mode, case_sensitive,
    exclude. Without a header they come in that order. Lines starting with # are comments.
    """
    reader = csv.reader(io.StringIO(text))
    rows: list[KeywordRow] = []
    problems: list[ImportProblem] = []
    columns = {name: index for index, name in enumerate(CSV_COLUMNS)}
    first = True
    for cells in reader:
        line_no = reader.line_num
        stripped = [c.strip() for c in cells]
        if not any(stripped) or stripped[0].startswith("#"):
            continue
        if first and _is_header(stripped):
            first = False
            columns = _header_columns(stripped)
            if "phrase" not in columns:
                problems.append(ImportProblem(line_no, "the header has no 'phrase' column"))
                return [], problems
            continue
        first = False
        try:
            rows.append(KeywordRow(line_no, _spec(cells, columns)))
        except ValueError as exc:
            problems.append(ImportProblem(line_no, str(exc)))
    return rows, problems


def _is_header(cells: Sequence[str]) -> bool:
    names = {name for names in _HEADER_NAMES.values() for name in names}
    return cells[0].lower() in names


def _header_columns(cells: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        for column, names in _HEADER_NAMES.items():
            if cell.lower() in names and column not in found:
                found[column] = index
    return found


def _spec(cells: Sequence[str], columns: dict[str, int]) -> KeywordSpec:
    def cell(name: str) -> str:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else ""

    mode = cell("mode").strip() or MODE_WORD_FORMS
    return make_spec(
        cell("phrase"),
        cell("category"),
        mode,
        case_sensitive=_flag(cell("case_sensitive"), "case_sensitive"),
        is_exclusion=_flag(cell("exclude"), "exclude"),
    )


def keywords_csv(rules: Iterable[KeywordSpec | Rule]) -> str:
    """Rules as CSV with a header, in the format `parse_keywords_csv` reads back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for rule in rules:
        writer.writerow(
            [
                rule.phrase,
                rule.category,
                rule.match_mode,
                "true" if rule.case_sensitive else "false",
                "true" if rule.is_exclusion else "false",
            ]
        )
    return out.getvalue()
