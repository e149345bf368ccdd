"""Typed records that flow between the crawl stages and the store, one per table row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A community as `groups.getById` describes it."""

    id: int
    screen_name: str | None
    name: str
    is_closed: int
    deactivated: str | None = None


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One wall post as `wall.get` lists it."""

    owner_id: int
    post_id: int
    from_id: int | None
    date: datetime
    text: str
    comments_count: int
    likes_count: int
    reposts_count: int
    views_count: int | None
    is_pinned: bool
    comments_closed: bool
    attachments: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class CommentRecord:
    """One comment or reply; `thread_count` is the reply count a top-level comment showed."""

    owner_id: int
    comment_id: int
    post_id: int
    parent_comment_id: int | None
    reply_to_comment_id: int | None
    reply_to_user_id: int | None
    from_id: int | None
    date: datetime
    text: str
    likes_count: int
    attachments: list[Any] | None
    is_deleted: bool
    thread_count: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    """A comment author: a user (id > 0) or a community (id < 0)."""

    id: int
    name: str
    screen_name: str | None
