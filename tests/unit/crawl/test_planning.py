"""Crawl planning decisions (pure): which posts, pages and threads to read, and what vanished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parser_pipeline.crawl.parse import ThreadState
from parser_pipeline.crawl.planning import (
    PostFetch,
    StoredComment,
    StoredPost,
    comment_page_offsets,
    find_vanished,
    is_full_verify,
    oldest_wanted,
    page_reaches_cutoff,
    plan_post_fetches,
    thread_page_offsets,
    threads_to_drill,
    wall_offsets,
)
from parser_pipeline.records import PostRecord

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
OWNER = -100
CUTOFF = NOW - timedelta(days=30)


def post(
    post_id: int,
    comments: int,
    *,
    days_ago: float = 1,
    pinned: bool = False,
    closed: bool = False,
) -> PostRecord:
    return PostRecord(
        owner_id=OWNER,
        post_id=post_id,
        from_id=OWNER,
        date=NOW - timedelta(days=days_ago),
        text="",
        comments_count=comments,
        likes_count=0,
        reposts_count=0,
        views_count=None,
        is_pinned=pinned,
        comments_closed=closed,
    )


def synced(**counts: int | None) -> dict[tuple[int, int], StoredPost]:
    """Stored watermarks keyed like the store reads them: synced(p1=5) is post 1 synced at 5."""
    return {(OWNER, int(name[1:])): StoredPost(count) for name, count in counts.items()}


@pytest.mark.parametrize(
    ("listed", "stored", "full_verify", "cutoff", "expected"),
    [
        pytest.param(
            [post(3, 4), post(2, 0), post(1, 7)], {}, False, None, [(3, 4), (1, 7)],
            id="first-crawl-reads-every-post-with-comments",
        ),
        pytest.param(
            [post(2, 4), post(1, 7)], synced(p2=4, p1=7), False, None, [],
            id="unchanged-counts-are-not-read",
        ),
        pytest.param(
            [post(2, 4), post(1, 9)], synced(p2=4, p1=7), False, None, [(1, 9)],
            id="changed-count-is-read-at-its-new-count",
        ),
        pytest.param(
            [post(1, 0)], synced(p1=5), False, None, [(1, 0)],
            id="count-dropped-to-zero-is-read",
        ),
        pytest.param(
            [post(3, 2), post(1, 7)], synced(p1=7), False, None, [(3, 2)],
            id="new-post-on-a-later-crawl-is-read",
        ),
        pytest.param(
            [post(2, 3), post(1, 0)], synced(p2=None, p1=None), False, None, [(2, 3)],
            id="stored-but-never-synced-is-read-when-it-has-comments",
        ),
        pytest.param(
            [post(2, 0), post(1, 0)], synced(p2=0), False, None, [],
            id="zero-synced-at-zero-is-not-read",
        ),
        pytest.param(
            [post(2, 0, closed=True), post(1, 0, closed=True)], synced(p1=0), False, None, [],
            id="comments-closed-never-read",
        ),
        pytest.param(
            [post(3, 5, days_ago=10), post(2, 5, days_ago=40), post(1, 5, days_ago=50)],
            {}, False, CUTOFF, [(3, 5)],
            id="posts-older-than-the-cutoff-are-not-read",
        ),
        pytest.param(
            [post(9, 5, days_ago=400, pinned=True), post(3, 5, days_ago=2)],
            {}, False, CUTOFF, [(3, 5)],
            id="pinned-post-older-than-the-cutoff-is-not-read",
        ),
        pytest.param(
            [post(1, 5, days_ago=30)], {}, False, CUTOFF, [(1, 5)],
            id="post-exactly-at-the-cutoff-is-read",
        ),
        pytest.param(
            [post(2, 4), post(1, 0)], synced(p2=4, p1=3), True, None, [(2, 4), (1, 0)],
            id="full-verify-rereads-unchanged-posts-and-emptied-ones",
        ),
        pytest.param(
            [post(3, 0), post(2, 0), post(1, 0, closed=True)], synced(p2=0), True, None, [],
            id="full-verify-skips-posts-that-never-had-comments",
        ),
        pytest.param(
            [post(2, 6, days_ago=60), post(1, 6)], synced(p2=6, p1=6), True, CUTOFF, [(1, 6)],
            id="full-verify-keeps-the-cutoff",
        ),
    ],
)  # fmt: skip
def test_plan_post_fetches(
    listed: list[PostRecord],
    stored: dict[tuple[int, int], StoredPost],
    full_verify: bool,
    cutoff: datetime | None,
    expected: list[tuple[int, int]],
) -> None:
    plan = plan_post_fetches(listed, stored, full_verify=full_verify, cutoff=cutoff)
    assert plan == [PostFetch(OWNER, pid, count, full_verify) for pid, count in expected]


@pytest.mark.parametrize(
    ("threads", "synced_counts", "full_verify", "expected"),
    [
        pytest.param({1: ThreadState(0, 0)}, {}, False, [], id="no-replies"),
        pytest.param({1: ThreadState(3, 3)}, {}, False, [], id="inline-replies-are-complete"),
        pytest.param({1: ThreadState(15, 10)}, {}, False, [1], id="first-sight-of-a-long-thread"),
        pytest.param({1: ThreadState(15, 10)}, {1: 12}, False, [1], id="changed-count"),
        pytest.param({1: ThreadState(15, 10)}, {1: 15}, False, [], id="unchanged-count"),
        pytest.param({1: ThreadState(15, 10)}, {1: 15}, True, [1], id="full-verify-rereads"),
        pytest.param(
            {1: ThreadState(4, 4)}, {1: 4}, True, [], id="full-verify-needs-no-drill-when-inline"
        ),
        pytest.param(
            {5: ThreadState(30, 10), 2: ThreadState(2, 2), 3: ThreadState(11, 10)},
            {5: 30},
            False,
            [3],
            id="only-the-threads-that-need-it",
        ),
        pytest.param(
            {5: ThreadState(30, 10), 3: ThreadState(11, 10)}, {}, False, [5, 3], id="order-kept"
        ),
    ],
)
def test_threads_to_drill(
    threads: dict[int, ThreadState],
    synced_counts: dict[int, int | None],
    full_verify: bool,
    expected: list[int],
) -> None:
    assert threads_to_drill(threads, synced_counts, full_verify=full_verify) == expected


def top(comment_id: int, *, deleted: bool = False) -> StoredComment:
    return StoredComment(comment_id, None, deleted)


def reply(comment_id: int, parent: int, *, deleted: bool = False) -> StoredComment:
    return StoredComment(comment_id, parent, deleted)


@pytest.mark.parametrize(
    ("stored", "seen_top_level", "complete_threads", "expected"),
    [
        pytest.param([top(1), top(2)], {1, 2}, {}, [], id="everything-still-there"),
        pytest.param([top(1), top(2)], {2}, {}, [1], id="top-level-gone"),
        pytest.param(
            [top(1), reply(11, 1), reply(12, 1)], {1}, {1: {12}}, [11],
            id="reply-gone-from-a-complete-thread",
        ),
        pytest.param(
            [top(1), reply(11, 1)], {1}, {1: {11}}, [], id="reply-still-in-a-complete-thread"
        ),
        pytest.param(
            [top(1), reply(11, 1)], {1}, {}, [], id="reply-untouched-in-a-thread-not-reread"
        ),
        pytest.param(
            [top(1), reply(11, 1), reply(12, 1), top(2)], {2}, {}, [1, 11, 12],
            id="replies-go-with-their-vanished-top-level",
        ),
        pytest.param(
            [top(1, deleted=True), reply(11, 1, deleted=True)], set(), {}, [],
            id="already-deleted-are-ignored",
        ),
        pytest.param(
            [top(1, deleted=True), reply(11, 1)], {1}, {1: {11}}, [],
            id="deleted-top-level-still-listed-keeps-its-replies",
        ),
        pytest.param([], {1}, {1: {11}}, [], id="nothing-stored"),
    ],
)  # fmt: skip
def test_find_vanished(
    stored: list[StoredComment],
    seen_top_level: set[int],
    complete_threads: dict[int, set[int]],
    expected: list[int],
) -> None:
    assert find_vanished(stored, seen_top_level, complete_threads) == expected


@pytest.mark.parametrize(
    ("total", "first_page_size", "expected"),
    [
        (0, 0, []),
        (20, 20, []),
        (100, 100, []),
        (101, 100, [100]),
        (250, 100, [100, 200]),
        (250, 20, [20, 120, 220]),
    ],
)
def test_wall_offsets(total: int, first_page_size: int, expected: list[int]) -> None:
    assert wall_offsets(total, first_page_size) == expected


@pytest.mark.parametrize(
    ("current_level_count", "expected"),
    [(0, []), (1, []), (100, []), (101, [100]), (250, [100, 200]), (300, [100, 200])],
)
def test_comment_page_offsets(current_level_count: int, expected: list[int]) -> None:
    assert comment_page_offsets(current_level_count) == expected


@pytest.mark.parametrize(
    ("thread_count", "expected"),
    [(0, []), (5, [0]), (100, [0]), (101, [0, 100]), (250, [0, 100, 200])],
)
def test_thread_page_offsets(thread_count: int, expected: list[int]) -> None:
    assert thread_page_offsets(thread_count) == expected


@pytest.mark.parametrize(
    ("crawls_done", "every", "expected"),
    [
        pytest.param(0, 24, False, id="first-crawl-is-never-a-verification"),
        pytest.param(1, 24, False, id="second-crawl"),
        pytest.param(23, 24, False, id="one-before"),
        pytest.param(24, 24, True, id="every-24th"),
        pytest.param(48, 24, True, id="every-24th-again"),
        pytest.param(1, 1, True, id="every-crawl-after-the-first"),
        pytest.param(0, 1, False, id="every-crawl-but-not-the-first"),
        pytest.param(24, 0, False, id="zero-means-never"),
    ],
)
def test_is_full_verify(crawls_done: int, every: int, expected: bool) -> None:
    assert is_full_verify(crawls_done, every) is expected


@pytest.mark.parametrize(
    ("posts", "cutoff", "expected"),
    [
        pytest.param([post(1, 0, days_ago=400)], None, False, id="no-cutoff"),
        pytest.param([], CUTOFF, False, id="empty-page"),
        pytest.param([post(2, 0, days_ago=1), post(1, 0, days_ago=29)], CUTOFF, False,
                     id="all-within"),
        pytest.param([post(2, 0, days_ago=1), post(1, 0, days_ago=31)], CUTOFF, True,
                     id="one-older"),
        pytest.param([post(9, 0, days_ago=400, pinned=True), post(2, 0)], CUTOFF, False,
                     id="an-old-pinned-post-does-not-end-paging"),
        pytest.param([post(1, 0, days_ago=30)], CUTOFF, False, id="exactly-at-the-cutoff"),
    ],
)  # fmt: skip
def test_page_reaches_cutoff(
    posts: list[PostRecord], cutoff: datetime | None, expected: bool
) -> None:
    assert page_reaches_cutoff(posts, cutoff) is expected


@pytest.mark.parametrize(
    ("max_post_age_days", "expected"),
    [(None, None), (1, NOW - timedelta(days=1)), (30, CUTOFF), (36500, NOW - timedelta(36500))],
)
def test_oldest_wanted(max_post_age_days: int | None, expected: datetime | None) -> None:
    assert oldest_wanted(NOW, max_post_age_days) == expected
