"""Bulk, idempotent writes: INSERT ... ON CONFLICT DO UPDATE on PostgreSQL and SQLite alike.

Every statement here can run twice with the same rows and change nothing the second time: an
update only happens when a value differs (`IS DISTINCT FROM`), so a retried or duplicated task
neither duplicates a row nor rewrites one. `RETURNING` tells which comments were new or changed,
so only those are handed to analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.records import AuthorRecord, CommentRecord, GroupInfo, PostRecord
from parser_pipeline.store.copy import AUTHORS_COPY_MIN_ROWS, copy_into_stage, use_copy
from parser_pipeline.store.schema import vk_authors, vk_comments, vk_groups, vk_posts

# Rows per INSERT statement. SQLite allows 32,766 bound parameters per statement and a comment
# row has 15 columns; PostgreSQL has no such limit but big statements stop paying off.
ROWS_PER_STATEMENT = 1000


@cache
def _field_names(record_type: type) -> tuple[str, ...]:
    """A record type's field names, asked once per type (`dataclasses.fields` per row was 3% of
    a crawl's CPU)."""
    return tuple(f.name for f in fields(record_type))


def shallow_dict(record: Any) -> dict[str, Any]:
    """A dataclass record as a dict without `asdict`'s deep copy (30 times faster per row)."""
    record_type: type = type(record)
    return {name: getattr(record, name) for name in _field_names(record_type)}


def upsert_insert(connection: Connection, table: Table) -> Any:
    """An INSERT with ON CONFLICT support in the connection's dialect (PostgreSQL or SQLite)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def chunks(rows: Sequence[Any], size: int = ROWS_PER_STATEMENT) -> Iterable[Sequence[Any]]:
    """Consecutive slices of at most `size` items (one statement's or one query's worth)."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _changed(table: Table, excluded: Any, columns: Iterable[str]) -> ColumnElement[bool]:
    return or_(*(table.c[name].is_distinct_from(excluded[name]) for name in columns))


def _dedupe(rows: Iterable[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per key (the last one wins): ON CONFLICT cannot touch a row twice per statement."""
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        unique[tuple(row[k] for k in key)] = row
    return list(unique.values())


def upsert_groups(connection: Connection, groups: Sequence[GroupInfo], **settings: Any) -> None:
    """Insert groups or refresh what VK says of them; crawl settings only apply to new rows."""
    if not groups:
        return
    rows = [{**shallow_dict(g), **settings} for g in groups]
    stmt = upsert_insert(connection, vk_groups)
    refreshed = ("screen_name", "name", "is_closed", "deactivated")
    stmt = stmt.on_conflict_do_update(
        index_elements=[vk_groups.c.id],
        set_={name: stmt.excluded[name] for name in refreshed},
        where=_changed(vk_groups, stmt.excluded, refreshed),
    )
    connection.execute(stmt, rows)


def upsert_authors(connection: Connection, authors: Iterable[AuthorRecord], now: datetime) -> int:
    rows = _dedupe(({**shallow_dict(a), "updated_at": now} for a in authors), ("id",))
    if not rows:
        return 0
    rows.sort(key=lambda r: r["id"])  # stable lock order
    if use_copy(connection, len(rows), AUTHORS_COPY_MIN_ROWS):
        connection.execute(_author_upsert(_staged_insert(connection, vk_authors, rows)))
        return len(rows)
    for chunk in chunks(rows):
        connection.execute(_author_upsert(upsert_insert(connection, vk_authors)), chunk)
    return len(rows)


def _author_upsert(stmt: Any) -> Any:
    return stmt.on_conflict_do_update(
        index_elements=[vk_authors.c.id],
        set_={
            "name": stmt.excluded.name,
            "screen_name": stmt.excluded.screen_name,
            "updated_at": stmt.excluded.updated_at,
        },
        where=_changed(vk_authors, stmt.excluded, ("name", "screen_name")),
    )


_POST_COLUMNS = (
    "from_id",
    "date",
    "text",
    "comments_count",
    "likes_count",
    "reposts_count",
    "views_count",
    "is_pinned",
    "comments_closed",
    "attachments",
)


def upsert_posts(connection: Connection, posts: Iterable[PostRecord], now: datetime) -> int:
    """Store posts as VK showed them now (a wall page or a wall.getById check): their counts
    were read at `now`. Comment watermarks are only moved by `mark_posts_synced`."""
    rows = _dedupe(
        ({**shallow_dict(p), "last_fetched_at": now, "comments_checked_at": now} for p in posts),
        ("owner_id", "post_id"),
    )
    if not rows:
        return 0
    rows.sort(key=lambda r: (r["owner_id"], r["post_id"]))  # stable lock order
    if use_copy(connection, len(rows)):  # an execute of 25 wall pages is 2,500 posts
        connection.execute(_post_upsert(_staged_insert(connection, vk_posts, rows)))
        return len(rows)
    for chunk in chunks(rows):
        connection.execute(_post_upsert(upsert_insert(connection, vk_posts)), chunk)
    return len(rows)


def _post_upsert(stmt: Any) -> Any:
    refreshed = (*_POST_COLUMNS, "last_fetched_at", "comments_checked_at")
    return stmt.on_conflict_do_update(
        index_elements=[vk_posts.c.owner_id, vk_posts.c.post_id],
        set_={name: stmt.excluded[name] for name in refreshed},
    )


def _staged_insert(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> Any:
    """PostgreSQL's INSERT of `rows` (sorted by the table's key) from a COPY-loaded staging
    table, ready for an ON CONFLICT clause: the fast path for thousands of rows."""
    stage = copy_into_stage(connection, table, rows)
    names = list(rows[0])
    key = [stage.c[column.name] for column in table.primary_key.columns]
    return postgresql.insert(table).from_select(
        names, select(*(stage.c[n] for n in names)).order_by(*key)
    )


def comment_row(record: CommentRecord, now: datetime, thread_complete: bool) -> dict[str, Any]:
    """The row for a comment; a top-level comment's thread watermark moves only when complete."""
    row = shallow_dict(record)
    thread_count = row.pop("thread_count")
    row["thread_synced_count"] = thread_count if thread_complete else None
    row["first_seen_at"] = now
    row["updated_at"] = now
    return row


# Columns a later crawl may change. A deleted placeholder has no text, author or attachments of
# its own any more: the stored ones are kept (`_keep_when_deleted`).
_COMMENT_CONTENT = ("text", "attachments", "from_id", "date")
_COMMENT_STATE = (
    "likes_count",
    "is_deleted",
    "reply_to_comment_id",
    "reply_to_user_id",
    "parent_comment_id",
)


def _comment_updates(excluded: Any) -> dict[str, Any]:
    current = vk_comments.c
    updates: dict[str, Any] = {
        name: case((excluded.is_deleted, current[name]), else_=excluded[name])
        for name in _COMMENT_CONTENT
    }
    updates.update({name: excluded[name] for name in _COMMENT_STATE})
    updates["thread_synced_count"] = func.coalesce(
        excluded.thread_synced_count, current.thread_synced_count
    )
    updates["updated_at"] = excluded.updated_at
    # A new text must be matched again; likes or a deletion mark leave the analysis valid.
    text_changed = and_(~excluded.is_deleted, current.text.is_distinct_from(excluded.text))
    updates["analyzed_at"] = case((text_changed, None), else_=current.analyzed_at)
    return updates


def _comment_changed(excluded: Any) -> ColumnElement[bool]:
    current = vk_comments.c
    content_changed = and_(~excluded.is_deleted, _changed(vk_comments, excluded, _COMMENT_CONTENT))
    thread_moved = and_(
        excluded.thread_synced_count.is_not(None),
        current.thread_synced_count.is_distinct_from(excluded.thread_synced_count),
    )
    return or_(content_changed, _changed(vk_comments, excluded, _COMMENT_STATE), thread_moved)


def upsert_comments(
    connection: Connection, rows: Sequence[dict[str, Any]]
) -> list[tuple[int, int]]:
    """Insert or update comment rows; returns (owner_id, comment_id) of those new or changed."""
    rows = _dedupe(rows, ("owner_id", "comment_id"))
    if not rows:
        return []
    rows.sort(key=lambda r: (r["owner_id"], r["comment_id"]))  # stable lock order
    if use_copy(connection, len(rows)):
        stmt = _staged_insert(connection, vk_comments, rows)
        return [(o, c) for o, c in connection.execute(_comment_upsert(stmt))]
    changed: list[tuple[int, int]] = []
    for chunk in chunks(rows):
        stmt = upsert_insert(connection, vk_comments)
        changed.extend((o, c) for o, c in connection.execute(_comment_upsert(stmt), chunk))
    return changed


def _comment_upsert(stmt: Any) -> Any:
    return stmt.on_conflict_do_update(
        index_elements=[vk_comments.c.owner_id, vk_comments.c.comment_id],
        set_=_comment_updates(stmt.excluded),
        where=_comment_changed(stmt.excluded),
    ).returning(vk_comments.c.owner_id, vk_comments.c.comment_id)


def mark_comments_deleted(
    connection: Connection, owner_id: int, comment_ids: Sequence[int], now: datetime
) -> int:
    """Mark comments VK no longer shows as deleted; their stored text stays."""
    done = 0
    for ids in chunks(list(comment_ids)):
        result = connection.execute(
            update(vk_comments)
            .where(vk_comments.c.owner_id == owner_id, vk_comments.c.comment_id.in_(list(ids)))
            .where(~vk_comments.c.is_deleted)
            .values(is_deleted=True, updated_at=now)
        )
        done += result.rowcount
    return done


def set_threads_synced(
    connection: Connection, owner_id: int, counts: Mapping[int, int], now: datetime
) -> None:
    """Thread watermarks: these top-level comments' replies are all stored, at these counts."""
    if not counts:
        return
    stmt = (
        update(vk_comments)
        .where(
            vk_comments.c.owner_id == owner_id,
            vk_comments.c.comment_id == bindparam("b_comment"),
            vk_comments.c.thread_synced_count.is_distinct_from(bindparam("b_count")),
        )
        .values(thread_synced_count=bindparam("b_count"), updated_at=now)
    )
    connection.execute(stmt, [{"b_comment": c, "b_count": n} for c, n in counts.items()])


def mark_posts_synced(
    connection: Connection,
    synced: Sequence[tuple[int, int, int, str | None, bool]],
    now: datetime,
) -> None:
    """Move each post's comment watermark: (owner_id, post_id, count, error or None, in full).

    A read in full (every thread) also moves the post's full-read time (`comments_verified_at`).
    """
    if not synced:
        return
    for verified in (False, True):
        rows = [
            {"b_owner": o, "b_post": p, "b_count": c, "b_error": e}
            for o, p, c, e, full in synced
            if full is verified
        ]
        if not rows:
            continue
        values: dict[str, Any] = {
            "comments_synced_count": bindparam("b_count"),
            "comments_synced_at": now,
            "comments_error": bindparam("b_error"),
        }
        if verified:
            values["comments_verified_at"] = now
        stmt = (
            update(vk_posts)
            .where(
                vk_posts.c.owner_id == bindparam("b_owner"),
                vk_posts.c.post_id == bindparam("b_post"),
            )
            .values(**values)
        )
        connection.execute(stmt, rows)
