"""Turn VK answers (wall.get, wall.getComments, groups.getById) into typed records; pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from parser_pipeline.errors import VkMalformedAnswerError
from parser_pipeline.records import AuthorRecord, CommentRecord, GroupInfo, PostRecord

log = structlog.get_logger(__name__)

# PostgreSQL text cannot hold U+0000; it is the only character vkpipe does not keep as sent.
NUL = "\x00"


@dataclass(frozen=True, slots=True)
class WallPage:
    total: int
    posts: list[PostRecord]


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What a top-level comment shows of its thread: the reply count and how many came inline."""

    count: int
    inline: int


@dataclass(slots=True)
class CommentsPage:
    """One wall.getComments answer: top-level comments (and inline replies) or one thread page."""

    count: int
    current_level_count: int
    comments: list[CommentRecord] = field(default_factory=list)
    threads: dict[int, ThreadState] = field(default_factory=dict)
    authors: list[AuthorRecord] = field(default_factory=list)


def _field(obj: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = obj.get(name)
    if kind is int and isinstance(value, bool):
        value = int(value)
    if not isinstance(value, kind):
        raise VkMalformedAnswerError(
            f"{where}: field {name!r} should be {kind.__name__}, got {type(value).__name__}"
        )
    return value


def _count(obj: Mapping[str, Any], name: str) -> int:
    """`{"likes": {"count": N}}` style counters; absent means zero."""
    inner = obj.get(name)
    if isinstance(inner, Mapping):
        value = inner.get("count", 0)
        return int(value) if isinstance(value, int | float) else 0
    return 0


def _optional_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise VkMalformedAnswerError(f"{where}: field 'date' should be unix seconds")
    return datetime.fromtimestamp(int(value), tz=UTC)


def clean_text(value: Any, where: str) -> str:
    """The text exactly as VK sent it, minus NUL characters (logged), which PostgreSQL refuses."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise VkMalformedAnswerError(f"{where}: field 'text' should be a string")
    if NUL in value:
        log.warning("crawl.nul_removed", where=where, count=value.count(NUL))
        return value.replace(NUL, "")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise VkMalformedAnswerError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _items(response: Mapping[str, Any], where: str) -> list[Any]:
    items = response.get("items")
    if not isinstance(items, list):
        raise VkMalformedAnswerError(f"{where}: field 'items' should be a list")
    return items


def parse_post(item: Any, owner_id: int) -> PostRecord:
    obj = _mapping(item, f"wall.get post of {owner_id}")
    post_id = _field(obj, "id", int, f"wall.get post of {owner_id}")
    where = f"post wall{owner_id}_{post_id}"
    comments = obj.get("comments") if isinstance(obj.get("comments"), Mapping) else {}
    can_post = comments.get("can_post", 1) if isinstance(comments, Mapping) else 1
    views = obj.get("views")
    attachments = obj.get("attachments")
    return PostRecord(
        owner_id=owner_id,
        post_id=post_id,
        from_id=_optional_int(obj.get("from_id")),
        date=_timestamp(obj.get("date"), where),
        text=clean_text(obj.get("text"), where),
        comments_count=_count(obj, "comments"),
        likes_count=_count(obj, "likes"),
        reposts_count=_count(obj, "reposts"),
        views_count=_count(obj, "views") if isinstance(views, Mapping) else None,
        is_pinned=bool(obj.get("is_pinned")),
        comments_closed=not bool(can_post) and _count(obj, "comments") == 0,
        attachments=attachments if isinstance(attachments, list) and attachments else None,
    )


def parse_wall_page(response: Any, owner_id: int) -> WallPage:
    where = f"wall.get of {owner_id}"
    obj = _mapping(response, where)
    total = _field(obj, "count", int, where)
    return WallPage(total=total, posts=[parse_post(item, owner_id) for item in _items(obj, where)])


def parse_authors(response: Mapping[str, Any]) -> list[AuthorRecord]:
    """Authors from an `extended=1` answer: `profiles` (users) and `groups` (communities)."""
    authors: list[AuthorRecord] = []
    for profile in response.get("profiles") or ():
        if isinstance(profile, Mapping) and isinstance(profile.get("id"), int):
            where = f"profile {profile['id']}"
            first = _name(profile.get("first_name"), where)
            last = _name(profile.get("last_name"), where)
            name = f"{first} {last}".strip()
            screen = _optional_name(profile.get("screen_name"), where)
            authors.append(AuthorRecord(profile["id"], name, screen))
    for group in response.get("groups") or ():
        if isinstance(group, Mapping) and isinstance(group.get("id"), int):
            where = f"community {group['id']}"
            name = _name(group.get("name"), where)
            screen = _optional_name(group.get("screen_name"), where)
            authors.append(AuthorRecord(-abs(group["id"]), name, screen))
    return authors


def _name(value: Any, where: str) -> str:
    """A name as VK sent it; anything but a string is no name, NUL removed as everywhere."""
    return clean_text(value, where) if isinstance(value, str) else ""


def _optional_name(value: Any, where: str) -> str | None:
    return clean_text(value, where) if isinstance(value, str) else None


def _comment(
    item: Any, owner_id: int, post_id: int, parent: int | None, thread_count: int | None
) -> CommentRecord:
    obj = _mapping(item, f"comment on wall{owner_id}_{post_id}")
    comment_id = _field(obj, "id", int, f"comment on wall{owner_id}_{post_id}")
    where = f"comment wall{owner_id}_{post_id}?reply={comment_id}"
    deleted = bool(obj.get("deleted"))
    attachments = obj.get("attachments")
    date = obj.get("date")
    return CommentRecord(
        owner_id=owner_id,
        comment_id=comment_id,
        post_id=post_id,
        parent_comment_id=parent,
        reply_to_comment_id=_optional_int(obj.get("reply_to_comment")),
        reply_to_user_id=_optional_int(obj.get("reply_to_user")),
        from_id=_optional_int(obj.get("from_id")),
        # A deleted placeholder may come without a date; the store keeps the one it had.
        date=_timestamp(date, where) if date is not None or not deleted else _EPOCH,
        text="" if deleted else clean_text(obj.get("text"), where),
        likes_count=_count(obj, "likes"),
        attachments=attachments if isinstance(attachments, list) and attachments else None,
        is_deleted=deleted,
        thread_count=thread_count,
    )


_EPOCH = datetime.fromtimestamp(0, tz=UTC)


def parse_comments_page(response: Any, owner_id: int, post_id: int) -> CommentsPage:
    """Top-level comments of one page, each with its inline replies and its thread's size."""
    where = f"wall.getComments of wall{owner_id}_{post_id}"
    obj = _mapping(response, where)
    count = _field(obj, "count", int, where)
    page = CommentsPage(
        count=count,
        current_level_count=_optional_int(obj.get("current_level_count")) or count,
        authors=parse_authors(obj),
    )
    for item in _items(obj, where):
        thread = item.get("thread") if isinstance(item, Mapping) else None
        thread = thread if isinstance(thread, Mapping) else {}
        raw_replies = thread.get("items")
        replies: list[Any] = raw_replies if isinstance(raw_replies, list) else []
        thread_count = _optional_int(thread.get("count")) or 0
        top = _comment(item, owner_id, post_id, None, thread_count)
        page.comments.append(top)
        page.threads[top.comment_id] = ThreadState(count=thread_count, inline=len(replies))
        page.comments.extend(_comment(r, owner_id, post_id, top.comment_id, None) for r in replies)
    return page


def parse_thread_page(response: Any, owner_id: int, post_id: int, top_id: int) -> CommentsPage:
    """One page of replies fetched with `comment_id=top_id`."""
    where = f"wall.getComments thread {top_id} of wall{owner_id}_{post_id}"
    obj = _mapping(response, where)
    count = _field(obj, "count", int, where)
    page = CommentsPage(count=count, current_level_count=count, authors=parse_authors(obj))
    page.comments.extend(
        _comment(item, owner_id, post_id, top_id, None) for item in _items(obj, where)
    )
    return page


def parse_group(item: Any) -> GroupInfo:
    obj = _mapping(item, "groups.getById")
    group_id = _field(obj, "id", int, "groups.getById")
    is_closed = obj.get("is_closed", 0)
    where = f"community {group_id}"
    return GroupInfo(
        id=group_id,
        screen_name=_optional_name(obj.get("screen_name"), where),
        name=_name(obj.get("name"), where),
        is_closed=int(is_closed) if isinstance(is_closed, int) and is_closed in (0, 1, 2) else 0,
        deactivated=obj.get("deactivated") if isinstance(obj.get("deactivated"), str) else None,
    )


def parse_posts_by_id(response: Any, owner_id: int) -> list[PostRecord]:
    """A wall.getById answer: `{"items": [...]}` in 5.199 (a bare list in older versions).

    Posts that no longer exist or are hidden are simply left out by VK; posts of another wall
    (which vkpipe never asks for) are dropped.
    """
    where = f"wall.getById of {owner_id}"
    items = response if isinstance(response, list) else _items(_mapping(response, where), where)
    posts = [parse_post(item, owner_id) for item in items]
    return [
        p
        for p, item in zip(posts, items, strict=True)
        if not isinstance(item, Mapping) or item.get("owner_id", owner_id) == owner_id
    ]
