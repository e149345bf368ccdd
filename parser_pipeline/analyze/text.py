"""Words with character offsets, the comparisons every match mode shares (ё = е), snippets.

A word is a run of letters and digits (any script); a hyphen or an apostrophe between two such
runs joins them into one word ("кто-то", "Санкт-Петербург", "д'Артаньян"), whose runs are its
parts. Everything else (spaces, punctuation, emoji, underscores) separates words. Offsets are
Python `str` indices (code points) into the original text, so `text[start:end]` is the word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

# Letters and digits of any script, joined by a hyphen (ASCII, U+2010, U+2011) or an apostrophe.
WORD_RE: Final = re.compile(r"[^\W_]+(?:[-\u2010\u2011'\u2019][^\W_]+)*")
PART_RE: Final = re.compile(r"[^\W_]+")
_SPACE: Final = re.compile(r"\s")

# Characters of a match's context snippet on each side: about a line of text in a table or a
# spreadsheet cell, enough to tell what the comment says about the keyword.
CONTEXT_CHARS: Final = 60
ELLIPSIS: Final = "…"

SHAPE_LOWER: Final = "lower"
SHAPE_UPPER: Final = "upper"
SHAPE_TITLE: Final = "title"
SHAPE_MIXED: Final = "mixed"


@dataclass(frozen=True, slots=True)
class Word:
    """One word of a text: its surface form, offsets, and the runs of a hyphenated word."""

    text: str
    start: int
    end: int
    # True when only whitespace separates it from the previous word (phrases need that).
    follows: bool
    parts: tuple[tuple[str, int, int], ...] = ()


def words(text: str) -> Iterator[Word]:
    """The words of `text` in order, with offsets into `text`."""
    previous_end: int | None = None
    for found in WORD_RE.finditer(text):
        start, end = found.span()
        surface = found.group()
        follows = previous_end is not None and text[previous_end:start].isspace()
        previous_end = end
        parts: tuple[tuple[str, int, int], ...] = ()
        if not surface.isalnum():  # joined by a hyphen or an apostrophe
            parts = tuple(
                (p.group(), start + p.start(), start + p.end()) for p in PART_RE.finditer(surface)
            )
        yield Word(surface, start, end, follows, parts)


def fold_yo(text: str) -> str:
    """ё and Ё read as е and Е (the case stays): the comparison of case-sensitive rules."""
    return text.replace("ё", "е").replace("Ё", "Е")  # str.replace runs at C speed, translate not


def fold(text: str) -> str:
    """Lower case with ё read as е, one character for one: the case-insensitive comparison.

    `str.lower` maps a few characters to two (U+0130 "İ"); those stay as they are, so offsets in
    the folded text are offsets in the original.
    """
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return lowered.replace("ё", "е")


def shape(word: str) -> str:
    """The letter case of a word: lower, upper (two or more capitals), title, or mixed.

    Case-sensitive `word_forms` rules compare shapes, since an inflected form keeps its case:
    "Орёл" (the city) matches "Орла" but not "орла" (the bird's genitive).
    """
    cased = [c for c in word if c.isupper() or c.islower()]
    if not any(c.isupper() for c in cased):
        return SHAPE_LOWER
    if len(cased) > 1 and all(c.isupper() for c in cased):
        return SHAPE_UPPER
    if cased[0].isupper() and all(c.islower() for c in cased[1:]):
        return SHAPE_TITLE
    return SHAPE_MIXED


def context(text: str, start: int, end: int, width: int = CONTEXT_CHARS) -> str:
    """`text[start:end]` with about `width` characters either side, cut at whitespace.

    Runs of whitespace (line breaks, tabs) become one space; an ellipsis marks a cut side.
    """
    left = max(0, start - width)
    if left > 0:
        space = _first_space(text, left, start)
        left = space + 1 if space is not None else left
    right = min(len(text), end + width)
    if right < len(text):
        space = _last_space(text, end, right)
        right = space if space is not None else right
    snippet = " ".join(text[left:right].split())
    return (ELLIPSIS if left > 0 else "") + snippet + (ELLIPSIS if right < len(text) else "")


def _first_space(text: str, low: int, high: int) -> int | None:
    found = _SPACE.search(text, low, high)
    return found.start() if found else None


def _last_space(text: str, low: int, high: int) -> int | None:
    # The common separators first (C speed); other whitespace is rare enough to scan for.
    best = max(text.rfind(" ", low, high), text.rfind("\n", low, high))
    for index in range(high - 1, max(best, low - 1), -1):
        if text[index].isspace():
            return index
    return best if best >= 0 else None
