"""Comment search: a CommentFilter (each filter has an index), two sort orders, keyset pages.

Pages are cut by the last row's (sort key, owner_id, comment_id), sent back as an opaque cursor
(base64 of JSON), never by OFFSET: page 1,000 costs what page 1 costs, and rows inserted while
a client pages neither repeat nor push others out of its pages. Indexes (schema.py): date
(`ix_vk_comments_date`), group + date (`ix_vk_comments_owner_date`), likes and group + likes
(`ix_vk_comments_likes`, `ix_vk_comments_owner_likes`), post (`ix_vk_comments_post`), author
(`ix_vk_comments_from`), matched only (`ix_vk_comments_matched_date`), deleted only
(`ix_vk_comments_deleted_date`), keyword (`ix_keyword_matches_keyword`, the matches' primary
key), text contains (`ix_comment_search_text_trgm`: the analyzed texts, store/text_search.py).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, Select, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.store.comment_filter import CommentFilter, where
from parser_pipeline.store.schema import vk_comments
from parser_pipeline.values import INT_MAX, MAX_VK_ID

Sort = Literal["-date", "date", "-likes", "likes"]

# Rows per page: 50 by default; 500 at most keeps one response under ~1 MB of JSON.
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
# Our cursors are about 60 characters; a longer text is not one, and is not parsed.
MAX_CURSOR_CHARS: Final = 200


class CursorError(ValueError):
    """A cursor that is not ours, or that belongs to another sort order."""


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: Sort
    key: datetime | int
    owner_id: int
    comment_id: int


def encode_cursor(cursor: Cursor) -> str:
    key = cursor.key.isoformat() if isinstance(cursor.key, datetime) else cursor.key
    raw = json.dumps([cursor.sort, key, cursor.owner_id, cursor.comment_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: Sort) -> Cursor:
    """The cursor `encode_cursor` wrote, checked field by field; CursorError for anything else
    (too long, not base64 or JSON, another sort, a key or id out of its column's range)."""
    if len(text) > MAX_CURSOR_CHARS:
        raise CursorError(f"not a cursor of this API (longer than {MAX_CURSOR_CHARS} characters)")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        fields = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise CursorError("not a cursor of this API") from None
    if not isinstance(fields, list) or len(fields) != 4:
        raise CursorError("not a cursor of this API")
    cursor_sort, key, owner_id, comment_id = fields
    if cursor_sort != sort:
        raise CursorError(f"this cursor belongs to sort={cursor_sort}, not sort={sort}")
    if not (_int_in(owner_id, -MAX_VK_ID, -1) and _int_in(comment_id, 1, MAX_VK_ID)):
        raise CursorError("not a cursor of this API")
    return Cursor(sort, _key(sort, key), owner_id, comment_id)


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _key(sort: Sort, key: object) -> datetime | int:
    if not sort.endswith("date"):
        if not _int_in(key, -INT_MAX, INT_MAX):
            raise CursorError("not a cursor of this API")
        return key  # type: ignore[return-value]  # an int, checked just above
    try:
        moment = datetime.fromisoformat(key) if isinstance(key, str) else None
        # encode_cursor writes the stored time, which is UTC: any other offset is not ours.
        if moment is None or moment.utcoffset() != timedelta(0):
            raise CursorError("not a cursor of this API")
        return moment
    except ValueError:
        raise CursorError("not a cursor of this API") from None


def _keyset(f: CommentFilter, sort: Sort, cursor: Cursor) -> ColumnElement[bool]:
    """Rows after the cursor in the sort order. With one group the owner is fixed, so it leaves
    the row comparison, which then matches the (owner_id, key, comment_id) index exactly."""
    c = vk_comments.c
    key_column = c.date if sort.endswith("date") else c.likes_count
    key = literal(cursor.key, type_=key_column.type)
    if len(f.group_ids) == 1:
        left = tuple_(key_column, c.comment_id)
        right = tuple_(key, literal(cursor.comment_id))
    else:
        left = tuple_(key_column, c.owner_id, c.comment_id)
        right = tuple_(key, literal(cursor.owner_id), literal(cursor.comment_id))
    return left < right if sort.startswith("-") else left > right


def search_query(
    f: CommentFilter,
    sort: Sort,
    cursor: Cursor | None,
    limit: int,
    found: Sequence[ColumnElement[bool]],
) -> Select[Any]:
    """One page of comments plus one row (to know whether another page follows); `found` are
    the conditions of `f` (`comment_filter.where`)."""
    c = vk_comments.c
    key_column = c.date if sort.endswith("date") else c.likes_count
    order = [key_column, c.owner_id, c.comment_id]
    keyset = [_keyset(f, sort, cursor)] if cursor is not None else []
    return (
        select(vk_comments)
        .where(*found, *keyset)
        .order_by(*(col.desc() if sort.startswith("-") else col.asc() for col in order))
        .limit(limit + 1)
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row[Any]]
    next_cursor: str | None


def search(
    connection: Connection, f: CommentFilter, sort: Sort, cursor: Cursor | None, limit: int
) -> Page:
    """A page of the comments `f` selects, in `sort` order, after `cursor`."""
    query = search_query(f, sort, cursor, limit, where(connection, f))
    rows = list(connection.execute(query))
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    key = last.date if sort.endswith("date") else last.likes_count
    return Page(rows, encode_cursor(Cursor(sort, key, last.owner_id, last.comment_id)))
