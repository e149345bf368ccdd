"""Fetch every comment and reply of many posts, packing independent calls into shared executes.

Calls of different posts (first pages, further top-level pages, thread pages) wait in one pool;
each round sends up to `ROUND_CALLS` of them through `VkClient.call_many`, which packs them 25 per
`execute`. A post whose calls have all come back is complete and goes to the store with the
others completed in that round, in one transaction, with its watermark: a crash leaves only whole
posts behind, and a post is never marked synced without its comments.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from parser_pipeline.constants import (
    VK_COMMENTS_MAX_COUNT,
    VK_EXECUTE_MAX_CALLS,
    VK_THREAD_ITEMS_MAX,
)
from parser_pipeline.crawl.parse import CommentsPage, parse_comments_page, parse_thread_page
from parser_pipeline.crawl.planning import (
    PostFetch,
    StoredComment,
    comment_page_offsets,
    thread_page_offsets,
    threads_to_drill,
)
from parser_pipeline.errors import VkError, VkPermanentError
from parser_pipeline.records import AuthorRecord, CommentRecord
from parser_pipeline.vk.batching import CallOutcome, VkCall

log = structlog.get_logger(__name__)

# Calls per round: four full executes. Enough to keep packing tight while posts finish (their
# follow-up pages join the next round), small enough that completed posts reach the store soon.
ROUND_CALLS = 4 * VK_EXECUTE_MAX_CALLS


class CallsRunner(Protocol):
    def call_many(self, calls: Sequence[VkCall]) -> list[CallOutcome]: ...


def top_level_call(owner_id: int, post_id: int, offset: int) -> VkCall:
    return VkCall(
        "wall.getComments",
        {
            "owner_id": owner_id,
            "post_id": post_id,
            "offset": offset,
            "count": VK_COMMENTS_MAX_COUNT,
            "sort": "asc",
            "need_likes": 1,
            "extended": 1,
            "thread_items_count": VK_THREAD_ITEMS_MAX,
        },
    )


def thread_call(owner_id: int, post_id: int, top_id: int, offset: int) -> VkCall:
    return VkCall(
        "wall.getComments",
        {
            "owner_id": owner_id,
            "post_id": post_id,
            "comment_id": top_id,
            "offset": offset,
            "count": VK_COMMENTS_MAX_COUNT,
            "sort": "asc",
            "need_likes": 1,
            "extended": 1,
        },
    )


@dataclass
class PostProgress:
    """Everything read so far for one post, and how many of its calls are still out."""

    target: PostFetch
    stored: list[StoredComment]
    outstanding: int = 0
    comments: dict[int, CommentRecord] = field(default_factory=dict)
    authors: list[AuthorRecord] = field(default_factory=list)
    seen_top_level: set[int] = field(default_factory=set)
    thread_counts: dict[int, int] = field(default_factory=dict)
    complete_threads: dict[int, set[int]] = field(default_factory=dict)
    drilling: dict[int, set[int]] = field(default_factory=dict)
    error: VkError | None = None
    requests_failed: bool = False

    @property
    def key(self) -> tuple[int, int]:
        return (self.target.owner_id, self.target.post_id)

    def absorb(self, page: CommentsPage) -> None:
        for comment in page.comments:
            self.comments[comment.comment_id] = comment
        self.authors.extend(page.authors)


@dataclass(frozen=True, slots=True)
class CompletedPost:
    """A post read completely (or stopped by a permanent error), ready for the store."""

    target: PostFetch
    comments: list[CommentRecord]
    authors: list[AuthorRecord]
    complete_threads: dict[int, set[int]]
    seen_top_level: set[int]
    stored: list[StoredComment]
    error: VkError | None


@dataclass(slots=True)
class FetchTally:
    posts_done: int = 0
    posts_failed: int = 0
    calls_by_owner: Counter[int] = field(default_factory=Counter)
    failures: list[tuple[PostFetch, VkError]] = field(default_factory=list)


class CommentsFetcher:
    """Reads the comments of many posts; hands each round's completed posts to `on_complete`."""

    def __init__(
        self,
        client: CallsRunner,
        on_complete: Callable[[list[CompletedPost]], None],
        *,
        round_calls: int = ROUND_CALLS,
    ) -> None:
        self.client = client
        self.on_complete = on_complete
        self.round_calls = round_calls
        self.tally = FetchTally()

    def run(
        self,
        posts: Iterable[PostFetch],
        stored: Callable[[list[PostFetch]], Mapping[tuple[int, int], list[StoredComment]]],
    ) -> FetchTally:
        """Fetch `posts`; `stored(batch)` reads what the store holds for the posts admitted next."""
        waiting = deque(posts)
        queue: deque[tuple[PostProgress, VkCall, Callable[[Any], None]]] = deque()
        while waiting or queue:
            if len(queue) < self.round_calls and waiting:
                admitted = [waiting.popleft() for _ in range(min(len(waiting), self.round_calls))]
                known = stored(admitted)
                for target in admitted:
                    progress = PostProgress(target, known.get(_key(target), []))
                    self._first_page(progress, queue)
            batch = [queue.popleft() for _ in range(min(len(queue), self.round_calls))]
            outcomes = self.client.call_many([call for _, call, _ in batch])
            touched: dict[tuple[int, int], PostProgress] = {}
            for (progress, _, handle), outcome in zip(batch, outcomes, strict=True):
                progress.outstanding -= 1
                self.tally.calls_by_owner[progress.target.owner_id] += 1
                touched[progress.key] = progress
                if outcome.error is not None:
                    self._fail(progress, outcome.error)
                elif progress.error is None:
                    try:
                        handle(outcome.value)
                    except VkError as error:  # a malformed answer for this post
                        self._fail(progress, error)
            done = [p for p in touched.values() if p.outstanding == 0]
            if done:
                self._complete(done)
        return self.tally

    def _enqueue(
        self,
        progress: PostProgress,
        queue: deque[tuple[PostProgress, VkCall, Callable[[Any], None]]],
        call: VkCall,
        handle: Callable[[Any], None],
    ) -> None:
        progress.outstanding += 1
        queue.append((progress, call, handle))

    def _first_page(self, progress: PostProgress, queue: deque[Any]) -> None:
        owner_id, post_id = progress.key

        def handle(value: Any) -> None:
            page = parse_comments_page(value, owner_id, post_id)
            self._top_level_page(progress, page, queue)
            for offset in comment_page_offsets(page.current_level_count):
                self._enqueue(
                    progress,
                    queue,
                    top_level_call(owner_id, post_id, offset),
                    lambda v: self._top_level_page(
                        progress, parse_comments_page(v, owner_id, post_id), queue
                    ),
                )

        self._enqueue(progress, queue, top_level_call(owner_id, post_id, 0), handle)

    def _top_level_page(
        self, progress: PostProgress, page: CommentsPage, queue: deque[Any]
    ) -> None:
        owner_id, post_id = progress.key
        progress.absorb(page)
        synced = {c.comment_id: c.thread_synced_count for c in progress.stored}
        drill = set(threads_to_drill(page.threads, synced, full_verify=progress.target.full_verify))
        for top_id, state in page.threads.items():
            progress.seen_top_level.add(top_id)
            progress.thread_counts[top_id] = state.count
            inline = {c.comment_id for c in page.comments if c.parent_comment_id == top_id}
            if state.count <= state.inline:
                progress.complete_threads[top_id] = inline
            elif top_id in drill:
                progress.drilling[top_id] = set()
                for offset in thread_page_offsets(state.count):
                    self._enqueue(
                        progress,
                        queue,
                        thread_call(owner_id, post_id, top_id, offset),
                        self._thread_handler(progress, top_id),
                    )

    def _thread_handler(self, progress: PostProgress, top_id: int) -> Callable[[Any], None]:
        owner_id, post_id = progress.key

        def handle(value: Any) -> None:
            page = parse_thread_page(value, owner_id, post_id, top_id)
            progress.absorb(page)
            progress.drilling[top_id].update(c.comment_id for c in page.comments)

        return handle

    def _fail(self, progress: PostProgress, error: VkError) -> None:
        if progress.error is None or not isinstance(error, VkPermanentError):
            progress.error = error

    def _complete(self, done: list[PostProgress]) -> None:
        completed: list[CompletedPost] = []
        for progress in done:
            error = progress.error
            if error is not None and not isinstance(error, VkPermanentError):
                # Retries were spent on a transient error: nothing of this post is stored, its
                # watermark stays, and the next crawl reads it again.
                self.tally.posts_failed += 1
                self.tally.failures.append((progress.target, error))
                log.warning(
                    "crawl.post_failed",
                    owner_id=progress.target.owner_id,
                    post_id=progress.target.post_id,
                    error=str(error),
                )
                continue
            threads = dict(progress.complete_threads)
            if error is None:
                for top_id, replies in progress.drilling.items():
                    threads[top_id] = replies
            self.tally.posts_done += 1
            completed.append(
                CompletedPost(
                    target=progress.target,
                    comments=list(progress.comments.values()) if error is None else [],
                    authors=progress.authors if error is None else [],
                    complete_threads=threads,
                    seen_top_level=progress.seen_top_level,
                    stored=progress.stored,
                    error=error,
                )
            )
        if completed:
            self.on_complete(completed)


def _key(target: PostFetch) -> tuple[int, int]:
    return (target.owner_id, target.post_id)
