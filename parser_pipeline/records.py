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


@dataclass(frozen=True, slots=True)
class StoredComment:
    """What the store knows of a comment: enough to tell a thread's and a deletion's state."""

    comment_id: int
    parent_comment_id: int | None
    is_deleted: bool
    thread_synced_count: int | None = None


@dataclass(frozen=True, slots=True)
class StoredPost:
    """What the store knows of a post: its date, its last read count, and when it was looked at.

    `comments_synced_count` is the count its comments were last completely read at (NULL:
    never). `comments_checked_at` is when its count was last read from VK (a wall listing or a
    wall.getById check), `comments_verified_at` when its comments were last read in full.
    """

    owner_id: int
    post_id: int
    date: datetime
    comments_count: int
    comments_synced_count: int | None
    comments_closed: bool = False
    is_pinned: bool = False
    comments_error: str | None = None
    comments_synced_at: datetime | None = None
    comments_checked_at: datetime | None = None
    comments_verified_at: datetime | None = None

    @property
    def key(self) -> tuple[int, int]:
        return (self.owner_id, self.post_id)
