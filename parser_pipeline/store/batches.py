"""Store one round of completed posts in one transaction: comments, authors, deletions, marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from parser_pipeline import metrics
from parser_pipeline.crawl.planning import find_vanished
from parser_pipeline.records import AuthorRecord
from parser_pipeline.store.writes import (
    comment_row,
    mark_comments_deleted,
    mark_posts_synced,
    upsert_authors,
    upsert_comments,
)

if TYPE_CHECKING:
    from parser_pipeline.crawl.comments import CompletedPost


@dataclass(slots=True)
class StoredBatch:
    """What one stored batch changed; `changed` feeds the analyze stage."""

    posts: int = 0
    comments_seen: int = 0
    changed: list[tuple[int, int]] = field(default_factory=list)
    deleted_by_owner: dict[int, int] = field(default_factory=dict)
    skipped: list[tuple[int, int, str]] = field(default_factory=list)


def store_completed_posts(
    connection: Connection, completed: list[CompletedPost], now: datetime
) -> StoredBatch:
    """Write the comments of completed posts and move their watermarks, all or nothing."""
    result = StoredBatch(posts=len(completed))
    rows: list[dict[str, Any]] = []
    authors: list[AuthorRecord] = []
    synced: list[tuple[int, int, int, str | None]] = []
    vanished: dict[int, list[int]] = {}
    for post in completed:
        owner_id, post_id = post.target.owner_id, post.target.post_id
        if post.error is not None:
            synced.append((owner_id, post_id, post.target.comments_count, str(post.error)))
            result.skipped.append((owner_id, post_id, str(post.error)))
            continue
        rows.extend(
            comment_row(c, now, thread_complete=c.comment_id in post.complete_threads)
            for c in post.comments
        )
        authors.extend(post.authors)
        result.comments_seen += len(post.comments)
        gone = find_vanished(post.stored, post.seen_top_level, post.complete_threads)
        if gone:
            vanished.setdefault(owner_id, []).extend(gone)
        synced.append((owner_id, post_id, post.target.comments_count, None))
    upsert_authors(connection, authors, now)
    result.changed = upsert_comments(connection, rows)
    for owner_id, ids in vanished.items():
        result.deleted_by_owner[owner_id] = mark_comments_deleted(connection, owner_id, ids, now)
    mark_posts_synced(connection, synced, now)
    metrics.COMMENTS_STORED.inc(result.comments_seen)
    metrics.COMMENTS_CHANGED.inc(len(result.changed))
    return result
