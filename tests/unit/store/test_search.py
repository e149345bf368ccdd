"""Comment search: cursors, LIKE escaping and the keyset condition's shape (pure)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine

from parser_pipeline.store import search
from parser_pipeline.store.comment_filter import (
    SQLITE_CASEFOLD,
    CommentFilter,
    conditions,
    like_pattern,
)

# Dialects to compile with; creating an engine does not connect.
PG = create_engine("postgresql+psycopg://").dialect
SQLITE = create_engine("sqlite://").dialect
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@pytest.mark.parametrize(
    "cursor",
    [
        search.Cursor("-date", WHEN, -100, 7),
        search.Cursor("date", WHEN, -5, 1),
        search.Cursor("-likes", 42, -100, 9),
        search.Cursor("likes", 0, -1, 2),
    ],
)
def test_cursor_round_trip(cursor: search.Cursor) -> None:
    text = search.encode_cursor(cursor)
    assert "=" not in text
    assert search.decode_cursor(text, cursor.sort) == cursor


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    ("text", "sort", "message"),
    [
        ("not base64!", "-date", "not a cursor"),
        (_b64("[1, 2]"), "-date", "not a cursor"),
        (_b64('["-likes", 3, -1, 2]'), "-date", "belongs to sort=-likes"),
        (_b64('["-date", "2026-01-01T00:00:00", -1, 2]'), "-date", "not a cursor"),
        (_b64('["-likes", "3", -1, 2]'), "-likes", "not a cursor"),
        (_b64('["-likes", 3, "x", 2]'), "-likes", "not a cursor"),
        (_b64('["-date", "yesterday", -1, 2]'), "-date", "not a cursor"),
    ],
)
def test_bad_cursors_are_refused(text: str, sort: search.Sort, message: str) -> None:
    with pytest.raises(search.CursorError, match=message):
        search.decode_cursor(text, sort)


def test_like_wildcards_are_literal() -> None:
    assert like_pattern("100%") == r"%100\%%"
    assert like_pattern("a_b") == r"%a\_b%"
    assert like_pattern("c:\\x") == r"%c:\\x%"


def _sql(query: object, dialect: object) -> str:
    return str(query.compile(dialect=dialect))  # type: ignore[attr-defined]


def _query(
    f: CommentFilter,
    sort: search.Sort,
    cursor: search.Cursor | None,
    limit: int,
    dialect: str = "postgresql",
) -> object:
    return search.search_query(f, sort, cursor, limit, conditions(f, None, dialect))


def test_one_group_leaves_the_owner_out_of_the_keyset() -> None:
    cursor = search.Cursor("-date", WHEN, -100, 7)
    one = _query(CommentFilter(group_ids=(100,)), "-date", cursor, 50)
    sql = _sql(one, PG)
    assert "(vk_comments.date, vk_comments.comment_id) <" in sql
    many = _query(CommentFilter(group_ids=(1, 2)), "-date", cursor, 50)
    assert "(vk_comments.date, vk_comments.owner_id, vk_comments.comment_id) <" in _sql(many, PG)
    ascending = _query(CommentFilter(), "likes", search.Cursor(
        "likes", 3, -1, 2), 10)  # fmt: skip
    assert "(vk_comments.likes_count, vk_comments.owner_id, vk_comments.comment_id) >" in _sql(
        ascending, PG
    )
    assert "LIMIT" in sql


def test_text_search_per_database() -> None:
    filters = CommentFilter(text="Дорога")
    pg = _sql(_query(filters, "-date", None, 5), PG)
    assert "ILIKE" in pg
    lite = _sql(_query(filters, "-date", None, 5, "sqlite"), SQLITE)
    assert f"instr({SQLITE_CASEFOLD}(vk_comments.text)" in lite
