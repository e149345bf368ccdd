"""Reads the crawl plans from: what is stored of a wall's posts, and of posts' comments."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from parser_pipeline.records import StoredComment, StoredPost
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.schema import vk_comments, vk_posts
from parser_pipeline.store.writes import chunks


def stored_posts(connection: Connection, owner_id: int) -> list[StoredPost]:
    """Every stored post of one wall with its counts and watermarks (one indexed range read)."""
    p = vk_posts.c
    rows = connection.execute(
        select(
            p.owner_id,
            p.post_id,
            p.date,
            p.comments_count,
            p.comments_synced_count,
            p.comments_closed,
            p.is_pinned,
            p.comments_error,
            p.comments_synced_at,
            p.comments_checked_at,
            p.comments_verified_at,
        ).where(p.owner_id == owner_id)
    )
    return [StoredPost(**row._mapping) for row in rows]


def stored_comments(
    connection: Connection, posts: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[StoredComment]]:
    """Stored comments of the given posts, grouped by (owner_id, post_id)."""
    keys = list(dict.fromkeys(posts))
    found: dict[tuple[int, int], list[StoredComment]] = {key: [] for key in keys}
    c = vk_comments.c
    for chunk in chunks(keys, KEYS_PER_QUERY):
        rows = connection.execute(
            select(
                c.owner_id,
                c.post_id,
                c.comment_id,
                c.parent_comment_id,
                c.is_deleted,
                c.thread_synced_count,
            ).where(keys_in((c.owner_id, c.post_id), chunk))
        )
        for r in rows:
            found[(r.owner_id, r.post_id)].append(
                StoredComment(
                    r.comment_id, r.parent_comment_id, r.is_deleted, r.thread_synced_count
                )
            )
    return found


def thread_synced_counts(
    connection: Connection, comments: Iterable[tuple[int, int]]
) -> dict[int, dict[int, int | None]]:
    """The reply count stored when each of these top-level comments' thread was last read in
    full (None: never), by owner then comment id; unknown comments are left out."""
    found: dict[int, dict[int, int | None]] = {}
    c = vk_comments.c
    for chunk in chunks(sorted(set(comments)), KEYS_PER_QUERY):
        rows = connection.execute(
            select(c.owner_id, c.comment_id, c.thread_synced_count).where(
                keys_in((c.owner_id, c.comment_id), chunk), c.parent_comment_id.is_(None)
            )
        )
        for r in rows:
            found.setdefault(r.owner_id, {})[r.comment_id] = r.thread_synced_count
    return found
