"""Pure decisions of a crawl: which posts, pages and threads to fetch, and what vanished."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from parser_pipeline.constants import VK_COMMENTS_MAX_COUNT, VK_WALL_GET_MAX_COUNT
from parser_pipeline.crawl.parse import ThreadState
from parser_pipeline.records import PostRecord


@dataclass(frozen=True, slots=True)
class StoredPost:
    """What the store knows of a post: the count its comments were last completely read at."""

    comments_synced_count: int | None
    comments_error: str | None = None


@dataclass(frozen=True, slots=True)
class PostFetch:
    """A post whose comments must be read; `comments_count` becomes its watermark when done."""

    owner_id: int
    post_id: int
    comments_count: int
    full_verify: bool = False  # re-read every thread, even those whose count is unchanged


@dataclass(frozen=True, slots=True)
class StoredComment:
    comment_id: int
    parent_comment_id: int | None
    is_deleted: bool
    thread_synced_count: int | None = None


def is_full_verify(crawls_done: int, every: int) -> bool:
    """Every `every`-th crawl after the first re-reads everything (0 = never)."""
    return every > 0 and crawls_done > 0 and crawls_done % every == 0


def oldest_wanted(now: datetime, max_post_age_days: int | None) -> datetime | None:
    return None if max_post_age_days is None else now - timedelta(days=max_post_age_days)


def wall_offsets(total: int, first_page_size: int) -> list[int]:
    """Offsets of the wall.get pages after the first one."""
    return list(range(first_page_size, total, VK_WALL_GET_MAX_COUNT))


def page_reaches_cutoff(posts: Sequence[PostRecord], cutoff: datetime | None) -> bool:
    """True when a wall page already holds a post older than the cutoff (pinned ones excepted)."""
    return cutoff is not None and any(p.date < cutoff for p in posts if not p.is_pinned)


def plan_post_fetches(
    listed: Iterable[PostRecord],
    stored: Mapping[tuple[int, int], StoredPost],
    *,
    full_verify: bool = False,
    cutoff: datetime | None = None,
) -> list[PostFetch]:
    """The posts whose comments must be read now, in listing order.

    First crawl: every post with comments (within the cutoff). Later crawls: posts that are new or
    whose comment count differs from the count they were synced at, a drop to zero included.
    A full verification re-reads every post with comments, or with comments stored before.
    """
    plan: list[PostFetch] = []
    for post in listed:
        if cutoff is not None and post.date < cutoff:
            continue
        known = stored.get((post.owner_id, post.post_id))
        synced = known.comments_synced_count if known else None
        if post.comments_closed and not synced:
            continue
        if full_verify:
            wanted = post.comments_count > 0 or bool(synced)
        elif synced is None:
            wanted = post.comments_count > 0
        else:
            wanted = synced != post.comments_count
        if wanted:
            plan.append(PostFetch(post.owner_id, post.post_id, post.comments_count, full_verify))
    return plan


def comment_page_offsets(current_level_count: int) -> list[int]:
    """Offsets of the top-level comment pages after the first one."""
    return list(range(VK_COMMENTS_MAX_COUNT, current_level_count, VK_COMMENTS_MAX_COUNT))


def thread_page_offsets(thread_count: int) -> list[int]:
    """Offsets of every page of a thread fetched with `comment_id` (inline replies included)."""
    return list(range(0, thread_count, VK_COMMENTS_MAX_COUNT))


def threads_to_drill(
    threads: Mapping[int, ThreadState],
    synced: Mapping[int, int | None],
    *,
    full_verify: bool = False,
) -> list[int]:
    """Top-level comments whose replies are more than the inline ones and not known unchanged."""
    return [
        top_id
        for top_id, state in threads.items()
        if state.count > state.inline and (full_verify or synced.get(top_id) != state.count)
    ]


def find_vanished(
    stored: Iterable[StoredComment],
    seen_top_level: set[int],
    complete_threads: Mapping[int, set[int]],
) -> list[int]:
    """Stored comments that a complete read of the post no longer shows: they were deleted.

    A top-level comment is gone when the post's top-level pages do not list it (its replies go
    with it). A reply is gone when its thread was read completely and does not list it; replies
    of a thread that was not re-read are left alone.
    """
    vanished: list[int] = []
    for comment in stored:
        if comment.is_deleted:
            continue
        parent = comment.parent_comment_id
        if parent is None:
            gone = comment.comment_id not in seen_top_level
        elif parent not in seen_top_level:
            gone = True
        else:
            replies = complete_threads.get(parent)
            gone = replies is not None and comment.comment_id not in replies
        if gone:
            vanished.append(comment.comment_id)
    return vanished
