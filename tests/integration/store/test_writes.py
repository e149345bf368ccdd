"""Bulk idempotent writes on SQLite and PostgreSQL, through multi-row INSERT and through COPY."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, select
from sqlalchemy.exc import StatementError

from parser_pipeline.records import AuthorRecord, CommentRecord, PostRecord
from parser_pipeline.store.copy import AUTHORS_COPY_MIN_ROWS, COPY_MIN_ROWS, use_copy
from parser_pipeline.store.schema import vk_authors, vk_comments, vk_posts
from parser_pipeline.store.writes import (
    comment_row,
    mark_comments_deleted,
    mark_posts_synced,
    upsert_authors,
    upsert_comments,
    upsert_posts,
)

pytestmark = pytest.mark.postgres

OWNER = -30000560
T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
PHOTO = [{"type": "photo", "photo": {"id": 457239017, "owner_id": 5, "text": 'a "q" \\ b'}}]

TEXTS = [
    pytest.param("Ура 🎉👍🏽 — «ёлка» 你好", id="emoji"),
    pytest.param("a\tb\t", id="tabs"),
    pytest.param("one\ntwo\n", id="newlines"),
    pytest.param("one\r\ntwo\r\n", id="crlf"),
    pytest.param("  spaces around  ", id="spaces"),
    pytest.param("null", id="literal-null"),
    pytest.param("NULL", id="literal-NULL"),
    pytest.param("\\N", id="copy-null-marker"),
    pytest.param('it\'s "quoted" `x`', id="quotes"),
    pytest.param("C:\\path\\to\\file \\\\ \\t", id="backslashes"),
    pytest.param("ж" * 4096 + "!", id="over-4096-chars"),
    pytest.param("", id="empty"),
]
TEXT_VALUES = [p.values[0] for p in TEXTS]


def comment(comment_id: int, owner_id: int = OWNER, **extra: Any) -> CommentRecord:
    values: dict[str, Any] = {
        "owner_id": owner_id,
        "comment_id": comment_id,
        "post_id": 7,
        "parent_comment_id": None,
        "reply_to_comment_id": None,
        "reply_to_user_id": None,
        "from_id": 1000 + comment_id % 50,
        "date": T0 - timedelta(minutes=comment_id),
        "text": f"comment {comment_id}",
        "likes_count": comment_id % 7,
        "attachments": None,
        "is_deleted": False,
    }
    values.update(extra)
    return CommentRecord(**values)


def varied(count: int, owner_id: int = OWNER) -> list[CommentRecord]:
    """Comments of every shape: special texts, attachments or none, replies, deleted ones."""
    records = []
    for i in range(1, count + 1):
        records.append(
            comment(
                i,
                owner_id,
                text=TEXT_VALUES[i % len(TEXT_VALUES)],
                parent_comment_id=None if i % 3 == 1 else i - (i - 1) % 3,
                reply_to_comment_id=i - 1 if i % 3 == 0 else None,
                reply_to_user_id=2000 + i if i % 3 == 0 else None,
                attachments=PHOTO if i % 4 == 0 else None,
                is_deleted=i % 11 == 0,
                from_id=None if i % 13 == 0 else -(i % 5) or 1000 + i,
                thread_count=(i % 9) if i % 3 == 1 else None,
            )
        )
    return records


def rows_of(records: list[CommentRecord], now: datetime = T0) -> list[dict[str, Any]]:
    return [comment_row(r, now, thread_complete=True) for r in records]


def upsert(engine: Engine, records: list[CommentRecord], now: datetime = T0) -> list[Any]:
    with engine.begin() as connection:
        return upsert_comments(connection, rows_of(records, now))


def stored(engine: Engine, owner_id: int = OWNER) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(vk_comments)
            .where(vk_comments.c.owner_id == owner_id)
            .order_by(vk_comments.c.comment_id)
        )
        return [dict(r._mapping) for r in rows]


def test_same_comments_twice_change_nothing_the_second_time(engine: Engine) -> None:
    records = varied(40)
    first = upsert(engine, records)
    before = stored(engine)
    second = upsert(engine, records, now=LATER)
    assert sorted(first) == [(OWNER, r.comment_id) for r in records]
    assert second == []
    assert stored(engine) == before


def test_changed_comment_is_reported_and_updated(engine: Engine) -> None:
    upsert(engine, [comment(1), comment(2)])
    changed = upsert(engine, [comment(1), comment(2, text="edited", likes_count=5)], now=LATER)
    assert changed == [(OWNER, 2)]
    row = stored(engine)[1]
    assert (row["text"], row["likes_count"], row["updated_at"]) == ("edited", 5, LATER)


@pytest.mark.parametrize("value", TEXTS)
def test_text_round_trips_exactly(engine: Engine, value: str) -> None:
    upsert(engine, [comment(1, text=value)])
    post = PostRecord(OWNER, 1, OWNER, T0, value, 0, 0, 0, None, False, False)
    with engine.begin() as connection:
        upsert_posts(connection, [post], T0)
        post_text = connection.execute(select(vk_posts.c.text)).scalar_one()
    assert stored(engine)[0]["text"] == value
    assert post_text == value


def test_deleted_placeholder_keeps_the_stored_content(engine: Engine) -> None:
    full = comment(1, text="original words", attachments=PHOTO, from_id=1001, likes_count=3)
    upsert(engine, [full])
    placeholder = replace(full, text="", attachments=None, from_id=None, is_deleted=True,
                          date=datetime.fromtimestamp(0, tz=UTC), likes_count=4)  # fmt: skip
    changed = upsert(engine, [placeholder], now=LATER)
    again = upsert(engine, [placeholder], now=LATER + timedelta(hours=1))
    (row,) = stored(engine)
    assert changed == [(OWNER, 1)]
    assert again == []
    assert (row["text"], row["attachments"], row["from_id"], row["date"]) == (
        "original words",
        PHOTO,
        1001,
        full.date,
    )
    assert (row["is_deleted"], row["likes_count"], row["updated_at"]) == (True, 4, LATER)


def test_thread_watermark_stays_when_a_later_read_is_incomplete(engine: Engine) -> None:
    top = comment(1, thread_count=12)
    with engine.begin() as connection:
        upsert_comments(connection, [comment_row(top, T0, thread_complete=True)])
        changed = upsert_comments(
            connection, [comment_row(replace(top, thread_count=15), LATER, thread_complete=False)]
        )
    assert changed == []
    assert stored(engine)[0]["thread_synced_count"] == 12


def test_mark_comments_deleted_keeps_text(engine: Engine) -> None:
    upsert(engine, [comment(1, attachments=PHOTO), comment(2), comment(3)])
    with engine.begin() as connection:
        marked = mark_comments_deleted(connection, OWNER, [1, 2], LATER)
        marked_again = mark_comments_deleted(connection, OWNER, [1, 2], LATER)
    rows = stored(engine)
    assert (marked, marked_again) == (2, 0)
    assert [(r["is_deleted"], r["text"]) for r in rows] == [
        (True, "comment 1"),
        (True, "comment 2"),
        (False, "comment 3"),
    ]
    assert rows[0]["attachments"] == PHOTO
    assert [r["updated_at"] for r in rows] == [LATER, LATER, T0]


def post(post_id: int, comments: int, **extra: Any) -> PostRecord:
    values: dict[str, Any] = {
        "owner_id": OWNER, "post_id": post_id, "from_id": OWNER, "date": T0, "text": "p",
        "comments_count": comments, "likes_count": 1, "reposts_count": 0, "views_count": None,
        "is_pinned": False, "comments_closed": False,
    }  # fmt: skip
    values.update(extra)
    return PostRecord(**values)


def watermarks(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(r)
            for r in connection.execute(
                select(
                    vk_posts.c.post_id,
                    vk_posts.c.comments_count,
                    vk_posts.c.comments_synced_count,
                    vk_posts.c.comments_synced_at,
                    vk_posts.c.comments_error,
                    vk_posts.c.comments_checked_at,
                    vk_posts.c.comments_verified_at,
                ).order_by(vk_posts.c.post_id)
            )
        ]


def test_mark_posts_synced_sets_the_watermark_and_a_full_read_its_time(engine: Engine) -> None:
    with engine.begin() as connection:
        upsert_posts(connection, [post(1, 5), post(2, 3), post(3, 0)], T0)
        mark_posts_synced(
            connection,
            [(OWNER, 1, 5, None, True), (OWNER, 2, 3, "VK error 212", False)],
            LATER,
        )
    assert watermarks(engine) == [
        (1, 5, 5, LATER, None, T0, LATER),
        (2, 3, 3, LATER, "VK error 212", T0, None),
        (3, 0, None, None, None, T0, None),
    ]


def test_posts_upsert_moves_the_check_time_never_the_watermark(engine: Engine) -> None:
    with engine.begin() as connection:
        upsert_posts(connection, [post(1, 5)], T0)
        mark_posts_synced(connection, [(OWNER, 1, 5, None, False)], T0)
    with engine.begin() as connection:
        upsert_posts(connection, [post(1, 9, text="edited")], LATER)
    assert watermarks(engine) == [(1, 9, 5, T0, None, LATER, None)]


def test_authors_upsert_dedupes(engine: Engine) -> None:
    authors = [
        AuthorRecord(1001, "Анна Петрова", "anna_p"),
        AuthorRecord(-7, "Дорожный дозор", "dorozhny_dozor"),
        AuthorRecord(1001, "Анна Иванова", "anna_i"),
    ]
    with engine.begin() as connection:
        count = upsert_authors(connection, authors, T0)
        rows = connection.execute(select(vk_authors).order_by(vk_authors.c.id)).all()
    assert count == 2
    assert [(r.id, r.name, r.screen_name) for r in rows] == [
        (-7, "Дорожный дозор", "dorozhny_dozor"),
        (1001, "Анна Иванова", "anna_i"),
    ]


@pytest.mark.parametrize(
    "count", [AUTHORS_COPY_MIN_ROWS, AUTHORS_COPY_MIN_ROWS - 1], ids=["copy", "per-row"]
)
def test_authors_upsert_updates_only_changed_authors_on_either_path(
    pg_engine: Engine, count: int
) -> None:
    with pg_engine.connect() as connection:
        assert use_copy(connection, count, AUTHORS_COPY_MIN_ROWS) is (
            count >= AUTHORS_COPY_MIN_ROWS
        )
    first = [AuthorRecord(900_000 + i, f"Автор {i}", f"author{i}") for i in range(count)]
    renamed = [replace(a, name=a.name + " (новое имя)") if a.id % 2 else a for a in first]
    with pg_engine.begin() as connection:
        assert upsert_authors(connection, [*first, first[0]], T0) == count
    with pg_engine.begin() as connection:
        assert upsert_authors(connection, renamed, LATER) == count
        rows = connection.execute(select(vk_authors).order_by(vk_authors.c.id)).all()
    assert [(r.id, r.name, r.screen_name) for r in rows] == [
        (a.id, a.name, a.screen_name) for a in renamed
    ]
    # The WHERE clause holds on both paths: an unchanged author is not rewritten.
    assert [r.updated_at for r in rows] == [LATER if r.id % 2 else T0 for r in rows]


def null_attachments(engine: Engine, table: Table) -> tuple[int, int]:
    """(rows with SQL NULL attachments, rows in all): JSON `null` would not count as NULL."""
    count = select(func.count()).select_from(table)
    with engine.connect() as connection:
        nulls = connection.execute(count.where(table.c.attachments.is_(None))).scalar_one()
        return int(nulls), int(connection.execute(count).scalar_one())


def test_json_attachments_none_is_sql_null(engine: Engine) -> None:
    upsert(engine, [comment(1), comment(2, attachments=PHOTO)])
    with engine.begin() as connection:
        upsert_posts(connection, [post(1, 0), post(2, 0, attachments=PHOTO)], T0)
    assert null_attachments(engine, vk_comments) == (1, 2)
    assert null_attachments(engine, vk_posts) == (1, 2)


# --- PostgreSQL: the COPY path (>= COPY_MIN_ROWS rows) against the multi-row INSERT path ---

COPY_OWNER, INSERT_OWNER = -1, -2


def test_the_two_batch_sizes_take_the_two_paths(pg_engine: Engine) -> None:
    with pg_engine.connect() as connection:
        assert use_copy(connection, COPY_MIN_ROWS) is True
        assert use_copy(connection, COPY_MIN_ROWS - 1) is False


def store_both_ways(engine: Engine, now: datetime = T0) -> tuple[list[Any], list[Any]]:
    """The same comments under two owners: one COPY batch, and batches below COPY_MIN_ROWS."""
    by_copy = upsert(engine, varied(COPY_MIN_ROWS, COPY_OWNER), now)
    by_insert: list[Any] = []
    records = varied(COPY_MIN_ROWS, INSERT_OWNER)
    half = COPY_MIN_ROWS // 2
    by_insert += upsert(engine, records[:half], now)
    by_insert += upsert(engine, records[half:], now)
    return by_copy, by_insert


def without_owner(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "owner_id"} for r in rows]


def test_copy_and_multi_row_paths_store_identical_rows(pg_engine: Engine) -> None:
    by_copy, by_insert = store_both_ways(pg_engine)
    assert (len(by_copy), len(by_insert)) == (COPY_MIN_ROWS, COPY_MIN_ROWS)
    assert without_owner(stored(pg_engine, COPY_OWNER)) == without_owner(
        stored(pg_engine, INSERT_OWNER)
    )


def test_copy_path_keeps_every_value_exactly(pg_engine: Engine) -> None:
    records = varied(COPY_MIN_ROWS, COPY_OWNER)
    upsert(pg_engine, records)
    rows = stored(pg_engine, COPY_OWNER)
    assert [r["text"] for r in rows] == [r.text for r in records]
    assert [r["attachments"] for r in rows] == [r.attachments for r in records]
    assert [r["date"] for r in rows] == [r.date for r in records]
    assert [r["thread_synced_count"] for r in rows] == [r.thread_count for r in records]


def test_both_paths_are_idempotent(pg_engine: Engine) -> None:
    store_both_ways(pg_engine)
    before = stored(pg_engine, COPY_OWNER), stored(pg_engine, INSERT_OWNER)
    again = store_both_ways(pg_engine, now=LATER)
    assert again == ([], [])
    assert (stored(pg_engine, COPY_OWNER), stored(pg_engine, INSERT_OWNER)) == before


def test_copy_path_after_the_multi_row_path_changes_nothing(pg_engine: Engine) -> None:
    records = varied(COPY_MIN_ROWS)
    step = COPY_MIN_ROWS // 2  # below the threshold: the INSERT path
    for start in range(0, COPY_MIN_ROWS, step):
        upsert(pg_engine, records[start : start + step])
    before = stored(pg_engine)
    assert upsert(pg_engine, records, now=LATER) == []
    assert stored(pg_engine) == before


def test_copy_path_keeps_none_attachments_sql_null(pg_engine: Engine) -> None:
    records = varied(COPY_MIN_ROWS, COPY_OWNER)
    upsert(pg_engine, records)
    expected = sum(1 for r in records if r.attachments is None)
    assert null_attachments(pg_engine, vk_comments) == (expected, COPY_MIN_ROWS)
    json_null = func.jsonb_typeof(vk_comments.c.attachments) == "null"
    with pg_engine.connect() as connection:
        json_nulls = connection.execute(
            select(func.count()).select_from(vk_comments).where(json_null)
        ).scalar_one()
    assert json_nulls == 0


@pytest.mark.parametrize("count", [10, COPY_MIN_ROWS])
def test_both_paths_refuse_a_naive_timestamp(pg_engine: Engine, count: int) -> None:
    records = varied(count, COPY_OWNER)
    records[-1] = replace(records[-1], date=datetime(2024, 5, 1, 12, 0))  # no time zone
    # The multi-row path wraps the type's ValueError in SQLAlchemy's StatementError.
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        upsert(pg_engine, records)
    assert stored(pg_engine, COPY_OWNER) == []


def stored_posts(engine: Engine, owner_id: int) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(vk_posts).where(vk_posts.c.owner_id == owner_id).order_by(vk_posts.c.post_id)
        )
        return [{k: v for k, v in r._mapping.items() if k != "owner_id"} for r in rows]


def many_posts(owner_id: int, comments: int = 0) -> list[PostRecord]:
    """Enough posts for the COPY path."""
    return [
        post(
            i,
            comments + i % 7,
            owner_id=owner_id,
            text=f"пост {i} \\N\t«{i}»\n" if i % 5 else "",
            attachments=PHOTO if i % 3 == 0 else None,
            views_count=None if i % 4 else i,
        )
        for i in range(1, COPY_MIN_ROWS + 1)
    ]


def test_posts_copy_and_multi_row_paths_store_identical_rows_and_refresh_alike(
    pg_engine: Engine,
) -> None:
    with pg_engine.begin() as connection:
        upsert_posts(connection, many_posts(COPY_OWNER), T0)
        step = COPY_MIN_ROWS // 2  # below the threshold: the INSERT path
        for start in range(0, COPY_MIN_ROWS, step):
            upsert_posts(connection, many_posts(INSERT_OWNER)[start : start + step], T0)
    assert stored_posts(pg_engine, COPY_OWNER) == stored_posts(pg_engine, INSERT_OWNER)
    with pg_engine.begin() as connection:  # a later listing: counts moved, read at LATER
        upsert_posts(connection, many_posts(COPY_OWNER, comments=3), LATER)
    refreshed = stored_posts(pg_engine, COPY_OWNER)
    assert {r["comments_checked_at"] for r in refreshed} == {LATER}
    assert [r["comments_count"] for r in refreshed] == [
        3 + i % 7 for i in range(1, COPY_MIN_ROWS + 1)
    ]
    assert null_attachments(pg_engine, vk_posts) == (
        2 * (COPY_MIN_ROWS - COPY_MIN_ROWS // 3),
        2 * COPY_MIN_ROWS,
    )
