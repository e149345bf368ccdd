"""Words with offsets, folding (ё = е, case) and context snippets on real comment text."""

from __future__ import annotations

import pytest

from parser_pipeline.analyze.text import (
    CONTEXT_CHARS,
    ELLIPSIS,
    context,
    fold,
    fold_yo,
    shape,
    words,
)


def test_words_slice_the_original_text_exactly_around_emoji_and_punctuation() -> None:
    text = "🤦‍♂️Мэр, опять😂 «дороги» — кто-то из Санкт-Петербурга! iPhone 15 #ремонт2024 👍🏻"
    found = list(words(text))
    assert [w.text for w in found] == [
        "Мэр", "опять", "дороги", "кто-то", "из", "Санкт-Петербурга", "iPhone", "15",
        "ремонт2024",
    ]  # fmt: skip
    for w in found:
        assert text[w.start : w.end] == w.text


def test_hyphenated_words_keep_their_parts_with_offsets() -> None:
    text = "Был в Санкт-Петербурге"
    compound = list(words(text))[-1]
    assert compound.parts == (("Санкт", 6, 11), ("Петербурге", 12, 22))
    assert [text[s:e] for _, s, e in compound.parts] == ["Санкт", "Петербурге"]
    assert next(words("мэр")).parts == ()


def test_follows_is_true_only_after_whitespace() -> None:
    follows = [w.follows for w in words("мэр города, мэр\n\tгорода 😡 мэр")]
    assert follows == [False, True, False, True, False]


def test_underscores_and_dashes_separate_words() -> None:
    assert [w.text for w in words("мэр_города мэр--города мэр - города")] == [
        "мэр", "города", "мэр", "города", "мэр", "города",
    ]  # fmt: skip


def test_fold_lowercases_reads_yo_as_ye_and_keeps_length() -> None:
    assert fold("ЕЩЁ Всё ёлка") == "еще все елка"
    assert fold_yo("ЕЩЁ Всё") == "ЕЩЕ Все"
    odd = "İstanbul Ёж"  # "İ".lower() is two characters
    assert len(fold(odd)) == len(odd)
    assert fold(odd).endswith("еж")


@pytest.mark.parametrize(
    ("word", "expected"),
    [("мэр", "lower"), ("Мэр", "title"), ("МВД", "upper"), ("iPhone", "mixed"), ("Я", "title"),
     ("15", "lower"), ("Санкт-Петербург", "mixed")],
)  # fmt: skip
def test_shape(word: str, expected: str) -> None:
    assert shape(word) == expected


def test_context_is_cut_at_whitespace_with_ellipses_and_single_spaces() -> None:
    left = "слово " * 30
    text = left + "мэр\n\nгорода" + " конец" * 30
    start = len(left)
    snippet = context(text, start, start + 3)
    assert snippet.startswith(ELLIPSIS + "слово")
    assert snippet.endswith("конец" + ELLIPSIS)
    assert "мэр города" in snippet
    assert len(snippet) <= 2 * CONTEXT_CHARS + 3 + 2


def test_context_of_a_short_text_is_the_whole_text() -> None:
    assert context("Спасибо мэру! 👍", 8, 12) == "Спасибо мэру! 👍"
