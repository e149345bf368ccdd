"""Crawl planning decisions (pure): which wall pages, checks, posts, threads; what vanished."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parser_pipeline.crawl.parse import ThreadState
from parser_pipeline.crawl.planning import (
    PostRead,
    comment_page_offsets,
    find_vanished,
    is_full_verify,
    newest_listed,
    next_wall_offsets,
    oldest_wanted,
    page_reaches_cutoff,
    page_reaches_listed,
    plan_checks,
    plan_reads,
    thread_page_offsets,
    threads_to_drill,
    wall_offsets,
)
from parser_pipeline.records import PostRecord, StoredComment, StoredPost
from parser_pipeline.tiers import parse_tiers

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=1)  # when this crawl began
OWNER = -100
CUTOFF = NOW - timedelta(days=30)
# Young posts: counts checked every crawl, re-read in full every 6 h; older: daily and weekly.
TIERS = parse_tiers("2d=0/6h,*=1d/7d")


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


def stored(
    post_id: int,
    count: int,
    synced: int | None = None,
    *,
    days_ago: float = 1,
    closed: bool = False,
    checked_ago: timedelta | None = None,
    read_ago: timedelta | None = timedelta(minutes=30),
    verified_ago: timedelta | None = None,
) -> StoredPost:
    """A stored post: its count now, the count it was synced at, when it was looked at."""
    return StoredPost(
        owner_id=OWNER,
        post_id=post_id,
        date=NOW - timedelta(days=days_ago),
        comments_count=count,
        comments_synced_count=synced,
        comments_closed=closed,
        comments_synced_at=None if synced is None or read_ago is None else NOW - read_ago,
        comments_checked_at=None if checked_ago is None else NOW - checked_ago,
        comments_verified_at=None if verified_ago is None else NOW - verified_ago,
    )


def read(post_id: int, count: int, verify: bool = False) -> PostRead:
    return PostRead(OWNER, post_id, count, verify)


@pytest.mark.parametrize(
    ("posts", "full_verify", "cutoff", "expected"),
    [
        pytest.param(
            [stored(3, 4), stored(2, 0), stored(1, 7)], False, None,
            [read(3, 4, True), read(1, 7, True)],
            id="first-read-of-a-post-with-comments-is-a-full-read",
        ),
        pytest.param(
            [stored(2, 4, 4), stored(1, 7, 7)], False, None, [],
            id="unchanged-counts-are-not-read",
        ),
        pytest.param(
            [stored(2, 4, 4), stored(1, 9, 7)], False, None, [read(1, 9)],
            id="changed-count-is-read-at-its-new-count",
        ),
        pytest.param(
            [stored(1, 0, 5)], False, None, [read(1, 0)], id="count-dropped-to-zero-is-read"
        ),
        pytest.param(
            [stored(2, 0, 0), stored(1, 0)], False, None, [],
            id="no-comments-then-and-now-is-not-read",
        ),
        pytest.param(
            [stored(2, 0, closed=True), stored(1, 0, 0, closed=True)], False, None, [],
            id="comments-closed-never-read",
        ),
        pytest.param(
            [stored(3, 5, days_ago=10), stored(2, 5, days_ago=40), stored(1, 5, days_ago=50)],
            False, CUTOFF, [read(3, 5, True)],
            id="posts-older-than-the-cutoff-are-not-read",
        ),
        pytest.param(
            [stored(1, 5, days_ago=30)], False, CUTOFF, [read(1, 5, True)],
            id="post-exactly-at-the-cutoff-is-read",
        ),
        pytest.param(
            [stored(2, 4, 4), stored(1, 0, 3)], True, None, [read(2, 4, True), read(1, 0, True)],
            id="full-verify-rereads-unchanged-posts-and-emptied-ones",
        ),
        pytest.param(
            [stored(3, 0), stored(2, 0, 0), stored(1, 0, closed=True)], True, None, [],
            id="full-verify-skips-posts-that-never-had-comments",
        ),
        pytest.param(
            [stored(2, 6, 6, days_ago=60), stored(1, 6, 6)], True, CUTOFF, [read(1, 6, True)],
            id="full-verify-keeps-the-cutoff",
        ),
        pytest.param(
            [stored(1, 6, 6, read_ago=timedelta(hours=7))], False, None, [read(1, 6, True)],
            id="young-post-read-7h-ago-is-re-read-in-full",
        ),
        pytest.param(
            [stored(1, 6, 6, read_ago=timedelta(hours=7), verified_ago=timedelta(hours=1))],
            False, None, [],
            id="young-post-verified-an-hour-ago-waits",
        ),
        pytest.param(
            [stored(1, 6, 6, days_ago=30, verified_ago=timedelta(days=2))], False, None, [],
            id="old-post-verified-2-days-ago-waits-its-week",
        ),
        pytest.param(
            [stored(1, 6, 6, days_ago=30, verified_ago=timedelta(days=8))], False, None,
            [read(1, 6, True)],
            id="old-post-verified-8-days-ago-is-re-read",
        ),
        pytest.param(
            [stored(1, 9, 6, days_ago=30, verified_ago=timedelta(days=1))], False, None,
            [read(1, 9)],
            id="old-post-whose-count-moved-is-read-incrementally",
        ),
        pytest.param(
            [stored(1, 0, 0, read_ago=timedelta(days=3))], False, None, [],
            id="a-post-without-comments-needs-no-verification",
        ),
        pytest.param(
            [stored(1, 3), stored(3, 2), stored(2, 8, 7)], False, None,
            [read(3, 2, True), read(2, 8), read(1, 3, True)],
            id="newest-first",
        ),
    ],
)  # fmt: skip
def test_plan_reads(
    posts: list[StoredPost], full_verify: bool, cutoff: datetime | None, expected: list[PostRead]
) -> None:
    got = plan_reads(
        posts, now=NOW, since=SINCE, tiers=TIERS, full_verify=full_verify, cutoff=cutoff
    )
    assert got == expected


@pytest.mark.parametrize(
    ("posts", "everything", "expected"),
    [
        pytest.param([stored(1, 3, 3)], False, [1], id="never-checked-is-checked"),
        pytest.param(
            [stored(1, 3, 3, checked_ago=timedelta(hours=2))], False, [1],
            id="young-post-is-checked-every-crawl",
        ),
        pytest.param(
            [stored(1, 3, 3, checked_ago=timedelta(seconds=10))], False, [],
            id="checked-by-this-crawls-listing-is-not-checked-again",
        ),
        pytest.param(
            [stored(1, 3, 3, days_ago=10, checked_ago=timedelta(hours=5))], False, [],
            id="old-post-checked-5h-ago-waits-its-day",
        ),
        pytest.param(
            [stored(1, 3, 3, days_ago=10, checked_ago=timedelta(hours=25))], False, [1],
            id="old-post-checked-25h-ago-is-checked",
        ),
        pytest.param(
            [stored(1, 3, 3, days_ago=10, checked_ago=timedelta(hours=5))], True, [1],
            id="full-verification-checks-everything",
        ),
        pytest.param(
            [stored(1, 0, closed=True), stored(2, 0, 0, closed=True)], False, [],
            id="comments-closed-for-good-are-not-checked",
        ),
        pytest.param([stored(1, 3, 3, days_ago=40)], False, [], id="older-than-the-cutoff"),
    ],
)  # fmt: skip
def test_plan_checks(posts: list[StoredPost], everything: bool, expected: list[int]) -> None:
    got = plan_checks(
        posts, now=NOW, since=SINCE, tiers=TIERS, cutoff=CUTOFF, everything=everything
    )
    assert got == [(OWNER, pid) for pid in expected]


LISTED = NOW - timedelta(days=2)


@pytest.mark.parametrize(
    ("offset", "page", "total", "listed_until", "cutoff", "expected"),
    [
        pytest.param(0, [post(3, 0)], 250, None, None, [100, 200], id="first-listing-fans-out"),
        pytest.param(100, [post(3, 0)], 250, None, None, [], id="fan-out-only-from-page-one"),
        pytest.param(
            0, [post(3, 0, days_ago=1)], 250, LISTED, None, [100],
            id="top-listing-goes-on-while-every-post-is-new",
        ),
        pytest.param(
            0, [post(3, 0, days_ago=1), post(2, 0, days_ago=2)], 250, LISTED, None, [],
            id="top-listing-stops-at-a-post-listed-before",
        ),
        pytest.param(
            0, [post(9, 0, days_ago=90, pinned=True), post(3, 0, days_ago=1)], 250, LISTED,
            None, [100],
            id="an-old-pinned-post-does-not-stop-it",
        ),
        pytest.param(
            0, [post(3, 0, days_ago=1)], 100, LISTED, None, [], id="end-of-the-wall"
        ),
        pytest.param(
            0, [post(3, 0, days_ago=31)], 250, None, CUTOFF, [], id="cutoff-stops-the-listing"
        ),
        pytest.param(
            100, [post(3, 0, days_ago=5)], 350, None, CUTOFF, [200],
            id="cutoff-listing-pages-one-by-one",
        ),
        pytest.param(0, [], 250, LISTED, None, [], id="an-empty-page-ends-it"),
    ],
)  # fmt: skip
def test_next_wall_offsets(
    offset: int,
    page: list[PostRecord],
    total: int,
    listed_until: datetime | None,
    cutoff: datetime | None,
    expected: list[int],
) -> None:
    got = next_wall_offsets(offset, page, total, listed_until=listed_until, cutoff=cutoff)
    assert got == expected


def test_page_reaches_listed_and_newest_listed() -> None:
    page = [post(9, 0, days_ago=100, pinned=True), post(3, 0, days_ago=1), post(2, 0, days_ago=3)]
    assert page_reaches_listed(page, LISTED)
    assert not page_reaches_listed(page[:2], LISTED)
    assert not page_reaches_listed(page, None)
    assert newest_listed(page) == NOW - timedelta(days=1)
    assert newest_listed([post(9, 0, pinned=True)]) is None


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
