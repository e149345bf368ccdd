"""Pure decisions of a crawl: which wall pages, count checks, posts, pages and threads to read.

A crawl has three steps (crawl/engine.py carries them out):
1. List the wall: the whole wall the first time (or down to `max_post_age_days`), later only
   its top, down to the newest post the previous complete listing saw (`next_wall_offsets`).
2. Re-check the comment counts of known posts whose tier says so (`plan_checks`, wall.getById).
3. Read the comments of the posts that need it (`plan_reads`): new ones, those whose count
   moved, those whose tier wants a full re-read, or all of them in a full verification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from parser_pipeline.constants import VK_COMMENTS_MAX_COUNT, VK_WALL_GET_MAX_COUNT
from parser_pipeline.crawl.parse import ThreadState
from parser_pipeline.records import PostRecord, StoredComment, StoredPost
from parser_pipeline.tiers import Tier, check_due, verify_due


@dataclass(frozen=True, slots=True)
class PostRead:
    """A post whose comments a job reads; `comments_count` becomes its watermark when done.

    `verify` re-reads every thread, not only those whose reply count moved (a full re-read).
    """

    owner_id: int
    post_id: int
    comments_count: int
    verify: bool = False


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


def page_reaches_listed(posts: Sequence[PostRecord], listed_until: datetime | None) -> bool:
    """True when a wall page holds a post the previous complete listing saw (pinned excepted).

    The wall is newest first, so every post above it on the page (and on the pages before) is
    newer than anything listed before: the listing can stop after this page.
    """
    return listed_until is not None and any(
        p.date <= listed_until for p in posts if not p.is_pinned
    )


def next_wall_offsets(
    offset: int,
    page: Sequence[PostRecord],
    total: int,
    *,
    listed_until: datetime | None,
    cutoff: datetime | None,
) -> list[int]:
    """The wall pages to read after the page at `offset`.

    A first listing (nothing listed before, no cutoff) asks for every remaining page at once
    after the first. Otherwise pages are read one after another until one reaches the posts
    listed before, the cutoff, or the end of the wall.
    """
    next_offset = offset + VK_WALL_GET_MAX_COUNT
    if listed_until is None and cutoff is None:
        return wall_offsets(total, VK_WALL_GET_MAX_COUNT) if offset == 0 else []
    if not page or next_offset >= total:
        return []
    if page_reaches_listed(page, listed_until) or page_reaches_cutoff(page, cutoff):
        return []
    return [next_offset]


def newest_listed(posts: Iterable[PostRecord]) -> datetime | None:
    """The date a complete listing reached: its newest non-pinned post's."""
    dates = [p.date for p in posts if not p.is_pinned]
    return max(dates) if dates else None


def plan_checks(
    posts: Iterable[StoredPost],
    *,
    now: datetime,
    since: datetime,
    tiers: Sequence[Tier],
    cutoff: datetime | None = None,
    everything: bool = False,
) -> list[tuple[int, int]]:
    """Known posts whose comment count must be read again in this crawl (begun at `since`).

    Posts the listing just read, posts older than the cutoff and posts with comments closed for
    good are left out. `everything` (a full verification) checks every other post.
    """
    keys: list[tuple[int, int]] = []
    for post in posts:
        if cutoff is not None and post.date < cutoff:
            continue
        if post.comments_checked_at is not None and post.comments_checked_at >= since:
            continue  # listed in this crawl
        if post.comments_closed and not post.comments_synced_count:
            continue
        if everything or check_due(
            post.date, post.comments_checked_at, now=now, since=since, tiers=tiers
        ):
            keys.append(post.key)
    return keys


def plan_reads(
    posts: Iterable[StoredPost],
    *,
    now: datetime,
    since: datetime,
    tiers: Sequence[Tier],
    full_verify: bool = False,
    cutoff: datetime | None = None,
) -> list[PostRead]:
    """The posts whose comments must be read now, newest first.

    New posts with comments are read; later crawls read posts whose count differs from the count
    they were synced at (a drop to zero included), and re-read in full those whose tier says a
    full re-read is due. A full verification re-reads every post with comments, or with
    comments stored before. Posts older than the cutoff are not read.
    """
    plan: list[PostRead] = []
    for post in sorted(posts, key=lambda p: (p.date, p.post_id), reverse=True):
        if cutoff is not None and post.date < cutoff:
            continue
        synced = post.comments_synced_count
        if post.comments_closed and not synced:
            continue
        if full_verify:
            if post.comments_count > 0 or synced:
                plan.append(PostRead(post.owner_id, post.post_id, post.comments_count, True))
            continue
        if synced is None:
            # A first read drills every thread anyway (nothing is stored): it is a full read.
            if post.comments_count > 0:
                plan.append(PostRead(post.owner_id, post.post_id, post.comments_count, True))
            continue
        last_full = post.comments_verified_at or post.comments_synced_at
        verify = (post.comments_count > 0 or synced > 0) and verify_due(
            post.date, last_full, now=now, since=since, tiers=tiers
        )
        if verify or synced != post.comments_count:
            plan.append(PostRead(post.owner_id, post.post_id, post.comments_count, verify))
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
