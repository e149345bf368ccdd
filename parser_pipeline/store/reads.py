"""Reads the crawl stages plan from: stored post watermarks and a post's stored comments."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, tuple_

from parser_pipeline.crawl.planning import StoredComment, StoredPost
from parser_pipeline.store.schema import vk_comments, vk_posts

# Posts per `IN` list when reading watermarks for a wall listing.
POSTS_PER_QUERY = 500


def stored_posts(connection: Connection, owner_id: int) -> dict[tuple[int, int], StoredPost]:
    """Watermarks of every stored post of one wall (one indexed range read)."""
    rows = connection.execute(
        select(
            vk_posts.c.owner_id,
            vk_posts.c.post_id,
            vk_posts.c.comments_synced_count,
            vk_posts.c.comments_error,
        ).where(vk_posts.c.owner_id == owner_id)
    )
    return {
        (r.owner_id, r.post_id): StoredPost(r.comments_synced_count, r.comments_error) for r in rows
    }


def stored_comments(
    connection: Connection, posts: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[StoredComment]]:
    """Stored comments of the given posts, grouped by (owner_id, post_id)."""
    keys = list(posts)
    found: dict[tuple[int, int], list[StoredComment]] = {key: [] for key in keys}
    for start in range(0, len(keys), POSTS_PER_QUERY):
        chunk = keys[start : start + POSTS_PER_QUERY]
        rows = connection.execute(
            select(
                vk_comments.c.owner_id,
                vk_comments.c.post_id,
                vk_comments.c.comment_id,
                vk_comments.c.parent_comment_id,
                vk_comments.c.is_deleted,
                vk_comments.c.thread_synced_count,
            ).where(tuple_(vk_comments.c.owner_id, vk_comments.c.post_id).in_(chunk))
        )
        for r in rows:
            found[(r.owner_id, r.post_id)].append(
                StoredComment(
                    r.comment_id, r.parent_comment_id, r.is_deleted, r.thread_synced_count
                )
            )
    return found
