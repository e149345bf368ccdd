"""What an answered call means: records to store, follow-up calls, what its post's end needs; pure.

Each handler takes one call and VK's answer to it (plus what the store knew) and returns an
`Answer`: posts and comments to write, the follow-up calls (the next wall page, more comment
pages, thread pages) and a small `result` kept on the call until its post is complete (the ids
it saw: a post's deletions are found from all its calls' results together).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parser_pipeline.crawl import calls
from parser_pipeline.crawl.parse import (
    parse_comments_page,
    parse_posts_by_id,
    parse_thread_page,
    parse_wall_page,
)
from parser_pipeline.crawl.planning import (
    comment_page_offsets,
    newest_listed,
    next_wall_offsets,
    thread_page_offsets,
    threads_to_drill,
)
from parser_pipeline.records import AuthorRecord, CommentRecord, PostRecord


@dataclass(frozen=True, slots=True)
class CallRow:
    """A stored call as the engine hands it to a handler."""

    id: int
    job_id: int
    kind: str
    owner_id: int
    post_id: int | None
    params: Mapping[str, Any]
    priority: int = 5


@dataclass(frozen=True, slots=True)
class NewCall:
    """A follow-up call to store (pending) for the same job."""

    job_id: int
    kind: str
    owner_id: int
    post_id: int | None
    params: dict[str, Any]
    priority: int


@dataclass(frozen=True, slots=True)
class WallContext:
    """What a wall page's follow-up depends on: how far the last listing got, the cutoff."""

    listed_until: datetime | None
    cutoff: datetime | None


@dataclass(slots=True)
class Answer:
    posts: list[PostRecord] = field(default_factory=list)
    comments: list[tuple[CommentRecord, bool]] = field(default_factory=list)  # (row, complete)
    authors: list[AuthorRecord] = field(default_factory=list)
    follow_ups: list[NewCall] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


def _follow(call: CallRow, kind: str, post_id: int | None, params: dict[str, Any]) -> NewCall:
    return NewCall(call.job_id, kind, call.owner_id, post_id, params, call.priority)


def wall_page(call: CallRow, value: Any, context: WallContext) -> Answer:
    """A wall.get page: its posts, and the next pages the listing needs."""
    page = parse_wall_page(value, call.owner_id)
    offset = int(call.params["offset"])
    newest = newest_listed(page.posts)
    answer = Answer(
        posts=page.posts,
        result={"newest": newest.isoformat() if newest else None, "posts": len(page.posts)},
    )
    for next_offset in next_wall_offsets(
        offset,
        page.posts,
        page.total,
        listed_until=context.listed_until,
        cutoff=context.cutoff,
    ):
        answer.follow_ups.append(
            _follow(call, calls.WALL, None, calls.wall_params(call.owner_id, next_offset))
        )
    return answer


def count_check(call: CallRow, value: Any) -> Answer:
    """A wall.getById answer: the current counts (and the rest) of the posts still there."""
    posts = parse_posts_by_id(value, call.owner_id)
    return Answer(posts=posts, result={"posts": len(posts)})


def top_page(
    call: CallRow, value: Any, *, verify: bool, thread_synced: Mapping[int, int | None]
) -> Answer:
    """A page of top-level comments (with inline replies): store them; ask for what is missing.

    The first page asks for the other top-level pages; every page asks for the threads whose
    replies are more than the inline ones and not known unchanged (all of them when `verify`).
    A thread whose replies all came inline is complete at once.
    """
    assert call.post_id is not None
    owner_id, post_id = call.owner_id, call.post_id
    page = parse_comments_page(value, owner_id, post_id)
    drill = set(threads_to_drill(page.threads, thread_synced, full_verify=verify))
    complete: dict[str, list[int]] = {}
    drilled: dict[str, int] = {}
    answer = Answer(authors=page.authors)
    for top_id, state in page.threads.items():
        inline = [c.comment_id for c in page.comments if c.parent_comment_id == top_id]
        if state.count <= state.inline:
            complete[str(top_id)] = inline
        elif top_id in drill:
            drilled[str(top_id)] = state.count
            for offset in thread_page_offsets(state.count):
                params = calls.thread_params(owner_id, post_id, top_id, offset)
                answer.follow_ups.append(_follow(call, calls.THREAD, post_id, params))
    for comment in page.comments:
        top_complete = comment.parent_comment_id is None and str(comment.comment_id) in complete
        answer.comments.append((comment, top_complete))
    if int(call.params["offset"]) == 0:
        for offset in comment_page_offsets(page.current_level_count):
            params = calls.top_params(owner_id, post_id, offset)
            answer.follow_ups.append(_follow(call, calls.TOP, post_id, params))
    # The inline replies of a drilled thread come again with its thread pages: count them there.
    reread = sum(page.threads[int(top_id)].inline for top_id in drilled)
    answer.result = {
        "tops": list(page.threads),
        "complete": complete,
        "drilled": drilled,
        "comments": len(page.comments) - reread,
    }
    return answer


def thread_page(call: CallRow, value: Any) -> Answer:
    """A page of one thread's replies."""
    assert call.post_id is not None
    top_id = int(call.params["comment_id"])
    page = parse_thread_page(value, call.owner_id, call.post_id, top_id)
    return Answer(
        comments=[(c, False) for c in page.comments],
        authors=page.authors,
        result={
            "top": top_id,
            "replies": [c.comment_id for c in page.comments],
            "comments": len(page.comments),
        },
    )


@dataclass(frozen=True, slots=True)
class PostSeen:
    """What all the calls of one post's read saw together."""

    top_level: set[int]
    complete_threads: dict[int, set[int]]
    drilled_counts: dict[int, int]
    comments: int


def post_seen(results: list[Mapping[str, Any]]) -> PostSeen:
    """Combine the results of a post's top and thread calls (all answered)."""
    tops: set[int] = set()
    complete: dict[int, set[int]] = {}
    drilled: dict[int, int] = {}
    replies: dict[int, set[int]] = {}
    comments = 0
    for result in results:
        comments += int(result.get("comments", 0))
        if "top" in result:
            replies.setdefault(int(result["top"]), set()).update(result.get("replies", []))
            continue
        tops.update(int(t) for t in result.get("tops", []))
        for top_id, ids in (result.get("complete") or {}).items():
            complete[int(top_id)] = set(ids)
        for top_id, count in (result.get("drilled") or {}).items():
            drilled[int(top_id)] = int(count)
    for top_id in drilled:
        complete[top_id] = replies.get(top_id, set())
    return PostSeen(tops, complete, drilled, comments)
