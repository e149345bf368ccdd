"""Rule validation, CSV import with line numbers, and export that imports back."""

from __future__ import annotations

import pytest

from parser_pipeline.analyze.rules import (
    KeywordSpec,
    keywords_csv,
    make_spec,
    parse_keywords_csv,
)


def test_make_spec_normalizes_whitespace_and_checks_values() -> None:
    assert make_spec("  мэр   города ", " власть ") == KeywordSpec("мэр города", "власть")
    assert make_spec(" ,школ ", match_mode="substring").phrase == ",школ"


@pytest.mark.parametrize(
    ("phrase", "mode", "message"),
    [
        ("   ", "word_forms", "empty"),
        ("мэр, города", "word_forms", "use --mode substring"),
        ("😡", "exact_word", "use --mode substring"),
        ("мэр", "regex", "mode must be one of"),
        ("слово " * 9, "word_forms", "at most 8 words"),
        ("я" * 201, "substring", "longer than 200"),
    ],
)
def test_make_spec_refuses_bad_rules(phrase: str, mode: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_spec(phrase, match_mode=mode)


def test_csv_import_keeps_good_rows_and_reports_bad_ones_by_line() -> None:
    text = (
        "phrase,category,mode,case_sensitive,exclude\n"
        "выборы,politics,,,\n"
        "# a comment line\n"
        "\n"
        "мэр,,exact_word,yes,no\n"
        "мэр,,regex,,\n"
        "реклама,politics,word_forms,false,true\n"
        "мэр,,,maybe,\n"
    )
    rows, problems = parse_keywords_csv(text)
    assert [(r.line, r.spec) for r in rows] == [
        (2, KeywordSpec("выборы", "politics")),
        (5, KeywordSpec("мэр", "", "exact_word", True, False)),
        (7, KeywordSpec("реклама", "politics", "word_forms", False, True)),
    ]
    assert [(p.line, p.message.split()[0]) for p in problems] == [
        (6, "mode"),
        (8, "case_sensitive"),
    ]


def test_csv_without_header_uses_column_order_and_header_may_reorder() -> None:
    rows, problems = parse_keywords_csv("школа,education\nдорога\n")
    assert problems == []
    assert [r.spec for r in rows] == [KeywordSpec("школа", "education"), KeywordSpec("дорога")]
    rows, problems = parse_keywords_csv("category,phrase\nroads,дорога\n")
    assert [r.spec for r in rows] == [KeywordSpec("дорога", "roads")]


def test_a_header_without_a_phrase_column_is_one_problem() -> None:
    rows, problems = parse_keywords_csv("ключ,category\nмэр,x\n")
    assert len(rows) == 2  # "ключ" is no header name: a data row
    assert not problems
    rows, problems = parse_keywords_csv("mode,category\nexact_word,x\n")
    assert rows == []
    assert [(p.line, p.message) for p in problems] == [(1, "the header has no 'phrase' column")]


def test_export_imports_back_to_the_same_rules() -> None:
    specs = [
        KeywordSpec("мэр города", "власть"),
        KeywordSpec('"кавычки", и запятые', "", "substring", True, False),
        KeywordSpec("реклама", "власть", "exact_word", False, True),
    ]
    rows, problems = parse_keywords_csv(keywords_csv(specs))
    assert problems == []
    assert [r.spec for r in rows] == specs
