"""Comment search: filters that each have an index, two sort orders, keyset pagination.

Pages are cut by the last row's (sort key, owner_id, comment_id), sent back as an opaque cursor
(base64 of JSON), never by OFFSET: page 1,000 costs what page 1 costs, and rows inserted while
a client pages neither repeat nor push others out of its pages. Indexes (schema.py): date
(`ix_vk_comments_date`), group + date (`ix_vk_comments_owner_date`), likes and group + likes
(`ix_vk_comments_likes`, `ix_vk_comments_owner_likes`), post (`ix_vk_comments_post`), author
(`ix_vk_comments_from`), matched only (`ix_vk_comments_matched_date`), deleted only
(`ix_vk_comments_deleted_date`), keyword (`ix_keyword_matches_keyword`, the matches' primary
key), text contains (`ix_vk_comments_text_trgm`, trigram GIN on PostgreSQL).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import Connection, Row, Select, exists, func, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.errors import NotFoundError
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.schema import keyword_matches, keywords, vk_comments

Sort = Literal["-date", "date", "-likes", "likes"]
SORTS: Final[tuple[Sort, ...]] = ("-date", "date", "-likes", "likes")
DeletedMode = Literal["include", "exclude", "only"]

# pg_trgm indexes three-character sequences: a shorter needle cannot use the trigram index.
MIN_TEXT_CHARS: Final = 3
# Rows per page: 50 by default; 500 at most keeps one response under ~1 MB of JSON.
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
_LIKE_ESCAPE: Final = "\\"
# The SQL function comments' text is folded with on SQLite (registered per connection).
SQLITE_CASEFOLD: Final = "vkpipe_casefold"


class CursorError(ValueError):
    """A cursor that is not ours, or that belongs to another sort order."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What a search keeps; empty means "no restriction". `group_ids` are positive VK ids;
    `keyword_ids` are resolved already (keyword ids and categories); `until` is exclusive."""

    text: str | None = None
    group_ids: tuple[int, ...] = ()
    post_id: int | None = None
    author_ids: tuple[int, ...] = ()
    keyword_ids: tuple[int, ...] | None = None
    matched_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    deleted: DeletedMode = "include"


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
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor_sort, key, owner_id, comment_id = json.loads(raw)
        if cursor_sort != sort:
            raise CursorError(f"this cursor belongs to sort={cursor_sort}, not sort={sort}")
        if not isinstance(owner_id, int) or not isinstance(comment_id, int):
            raise CursorError("not a cursor of this API")
        if sort.endswith("date"):
            moment = datetime.fromisoformat(key)
            if moment.tzinfo is None:
                raise CursorError("not a cursor of this API")
            value: datetime | int = moment
        elif isinstance(key, int):
            value = key
        else:
            raise CursorError("not a cursor of this API")
    except CursorError:
        raise
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise CursorError("not a cursor of this API") from None
    return Cursor(sort, value, owner_id, comment_id)


def like_pattern(needle: str) -> str:
    """`%needle%` with LIKE's wildcards in the needle taken literally."""
    escaped = needle.replace(_LIKE_ESCAPE, 2 * _LIKE_ESCAPE).replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def _register_casefold(connection: Connection) -> None:
    """SQLite's lower() and LIKE fold ASCII only; Russian text needs Python's casefold."""
    raw = connection.connection.driver_connection
    assert raw is not None, "a connection in use has its driver connection"
    raw.create_function(SQLITE_CASEFOLD, 1, _casefold, deterministic=True)


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


def conditions(f: SearchFilters, dialect: str = "postgresql") -> list[ColumnElement[bool]]:
    c = vk_comments.c
    where: list[ColumnElement[bool]] = []
    if len(f.group_ids) == 1:
        where.append(c.owner_id == -f.group_ids[0])
    elif f.group_ids:
        where.append(c.owner_id.in_([-g for g in f.group_ids]))
    if f.post_id is not None:
        where.append(c.post_id == f.post_id)
    if len(f.author_ids) == 1:
        where.append(c.from_id == f.author_ids[0])
    elif f.author_ids:
        where.append(c.from_id.in_(f.author_ids))
    if f.since is not None:
        where.append(c.date >= f.since)
    if f.until is not None:
        where.append(c.date < f.until)
    if f.matched_only:
        where.append(c.matched_keywords_count > 0)
    if f.deleted == "exclude":
        where.append(~c.is_deleted)
    elif f.deleted == "only":
        where.append(c.is_deleted)
    if f.keyword_ids is not None:
        km = keyword_matches.c
        where.append(
            exists().where(
                km.owner_id == c.owner_id,
                km.comment_id == c.comment_id,
                km.keyword_id.in_(f.keyword_ids),
            )
        )
    if f.text and dialect == "sqlite":
        where.append(func.instr(getattr(func, SQLITE_CASEFOLD)(c.text), f.text.casefold()) > 0)
    elif f.text:
        # ILIKE is served by the trigram index; it folds case by the database's locale.
        where.append(c.text.ilike(like_pattern(f.text), escape=_LIKE_ESCAPE))
    return where


def _keyset(f: SearchFilters, sort: Sort, cursor: Cursor) -> ColumnElement[bool]:
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
    f: SearchFilters, sort: Sort, cursor: Cursor | None, limit: int, dialect: str = "postgresql"
) -> Select[Any]:
    """One page of comments plus one row (to know whether another page follows)."""
    c = vk_comments.c
    key_column = c.date if sort.endswith("date") else c.likes_count
    order = [key_column, c.owner_id, c.comment_id]
    where = conditions(f, dialect)
    if cursor is not None:
        where.append(_keyset(f, sort, cursor))
    return (
        select(vk_comments)
        .where(*where)
        .order_by(*(col.desc() if sort.startswith("-") else col.asc() for col in order))
        .limit(limit + 1)
    )


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row[Any]]
    next_cursor: str | None


def search(
    connection: Connection, f: SearchFilters, sort: Sort, cursor: Cursor | None, limit: int
) -> Page:
    dialect = connection.dialect.name
    if dialect == "sqlite" and f.text:
        _register_casefold(connection)
    rows = list(connection.execute(search_query(f, sort, cursor, limit, dialect)))
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    last = rows[-1]
    key = last.date if sort.endswith("date") else last.likes_count
    return Page(rows, encode_cursor(Cursor(sort, key, last.owner_id, last.comment_id)))


def keyword_ids_for(
    connection: Connection, ids: Sequence[int], categories: Sequence[str]
) -> list[int]:
    """Stored, non-exclusion keyword ids among `ids` and in `categories` (compared casefolded);
    NotFoundError names the ids and categories that name nothing."""
    query = select(keywords.c.id, keywords.c.category).where(~keywords.c.is_exclusion)
    rows = list(connection.execute(query))
    known = {r.id for r in rows}
    found = {i for i in ids if i in known}
    missing = [str(i) for i in ids if i not in known]
    for category in categories:
        in_category = {r.id for r in rows if r.category.casefold() == category.casefold()}
        if not in_category:
            missing.append(repr(category))
        found |= in_category
    if missing:
        raise NotFoundError(f"no keyword or category {', '.join(missing)}")
    return sorted(found)


def resolve_filters(
    connection: Connection,
    *,
    text: str | None = None,
    groups: Sequence[str] = (),
    post: int | None = None,
    authors: Sequence[int] = (),
    keyword_ids: Sequence[int] = (),
    categories: Sequence[str] = (),
    matched_only: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    deleted: DeletedMode = "include",
) -> SearchFilters:
    """Filters from what a client sent: groups by id or screen name, keywords by id or
    category (NotFoundError for one that does not exist)."""
    group_ids = tuple(dict.fromkeys(r.id for r in group_store.find_groups(connection, groups)))
    resolved = None
    if keyword_ids or categories:
        resolved = tuple(keyword_ids_for(connection, keyword_ids, categories))
    return SearchFilters(
        text=text,
        group_ids=group_ids,
        post_id=post,
        author_ids=tuple(dict.fromkeys(authors)),
        keyword_ids=resolved,
        matched_only=matched_only,
        since=since,
        until=until,
        deleted=deleted,
    )
