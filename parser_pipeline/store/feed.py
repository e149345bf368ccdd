"""The workspace's feed: a page of the comment search with everything shown beside each comment.

`feed_page` is the search (one indexed query, keyset pages) plus a fixed number of indexed
queries for the page whatever its size: matches, authors and group names (`comments.beside`),
the posts' beginnings, the comments replied to, and the reviews. `new_since` counts what was
stored after a moment under the same filter, for "N new since you opened the page".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, func, select

from parser_pipeline.store import search
from parser_pipeline.store.comment_filter import CommentFilter, where
from parser_pipeline.store.comments import beside
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.reviews import Review, reviews_of
from parser_pipeline.store.schema import vk_comments, vk_groups, vk_posts
from parser_pipeline.store.writes import chunks

# Characters of a post's or a parent comment's text shown above a comment.
EXCERPT_CHARS: Final = 160
# "New since" counts up to this many and then says "more than": counting further costs time
# and tells a reader nothing more.
NEW_COUNT_CAP: Final = 1000

Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class FeedItem:
    comment: Row[Any]
    group_name: str | None
    group_screen_name: str | None
    post_excerpt: str | None
    parent: Row[Any] | None
    parent_author: str | None
    author_name: str | None
    matches: list[Row[Any]]
    review: Review

    @property
    def key(self) -> Key:
        return (self.comment.owner_id, self.comment.comment_id)


@dataclass(frozen=True, slots=True)
class FeedPage:
    items: list[FeedItem]
    next_cursor: str | None


def excerpt(text: str | None, limit: int = EXCERPT_CHARS) -> str | None:
    """`text` on one line, cut at a word boundary near `limit` with an ellipsis (pure)."""
    if text is None:
        return None
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit] + "…"


def feed_page(
    connection: Connection,
    f: CommentFilter,
    sort: search.Sort,
    cursor: search.Cursor | None,
    limit: int,
) -> FeedPage:
    """A page of the comments `f` selects with what the feed shows beside each."""
    page = search.search(connection, f, sort, cursor, limit)
    return FeedPage(items(connection, page.rows), page.next_cursor)


def items(connection: Connection, rows: Sequence[Row[Any]]) -> list[FeedItem]:
    """Comment rows (every column of vk_comments) as feed items, in their order."""
    if not rows:
        return []
    keys = [(r.owner_id, r.comment_id) for r in rows]
    parents = _comments(connection, {k for r in rows if (k := _replied_to(r)) is not None})
    # The parents' authors come with the page's: one query for both.
    found = beside(connection, [*rows, *parents.values()])
    authors = found.authors
    reviews = reviews_of(connection, keys)
    posts = _posts(connection, {(r.owner_id, r.post_id) for r in rows})
    screen_names = _screen_names(connection, {-r.owner_id for r in rows})
    out = []
    for r in rows:
        parent_key = _replied_to(r)
        parent = parents.get(parent_key) if parent_key is not None else None
        out.append(
            FeedItem(
                comment=r,
                group_name=found.group_names.get(-r.owner_id),
                group_screen_name=screen_names.get(-r.owner_id),
                post_excerpt=excerpt(posts.get((r.owner_id, r.post_id))),
                parent=parent,
                parent_author=_name(authors, parent.from_id) if parent is not None else None,
                author_name=_name(authors, r.from_id),
                matches=found.matches.get((r.owner_id, r.comment_id), []),
                review=reviews[(r.owner_id, r.comment_id)],
            )
        )
    return out


def items_by_keys(connection: Connection, keys: Sequence[Key]) -> list[FeedItem]:
    """The feed items of stored comments, in the order of `keys` (missing ones left out)."""
    found = _comments(connection, set(keys))
    return items(connection, [found[key] for key in dict.fromkeys(keys) if key in found])


def _name(authors: dict[int, Row[Any]], author_id: int | None) -> str | None:
    author = authors.get(author_id) if author_id is not None else None
    return author.name if author is not None else None


def _replied_to(row: Row[Any]) -> Key | None:
    """The comment a reply answers (the one it names, else its thread's top), None at top."""
    target = row.reply_to_comment_id or row.parent_comment_id
    return (row.owner_id, target) if target else None


def _posts(connection: Connection, keys: set[Key]) -> dict[Key, str]:
    p = vk_posts.c
    found: dict[Key, str] = {}
    for chunk in chunks(sorted(keys), KEYS_PER_QUERY):
        rows = connection.execute(
            select(p.owner_id, p.post_id, p.text).where(keys_in((p.owner_id, p.post_id), chunk))
        )
        found |= {(r.owner_id, r.post_id): r.text for r in rows}
    return found


def _comments(connection: Connection, keys: set[Key]) -> dict[Key, Row[Any]]:
    c = vk_comments.c
    found: dict[Key, Row[Any]] = {}
    for chunk in chunks(sorted(keys), KEYS_PER_QUERY):
        rows = connection.execute(
            select(vk_comments).where(keys_in((c.owner_id, c.comment_id), chunk))
        )
        found |= {(r.owner_id, r.comment_id): r for r in rows}
    return found


def _screen_names(connection: Connection, group_ids: set[int]) -> dict[int, str | None]:
    g = vk_groups.c
    rows = connection.execute(select(g.id, g.screen_name).where(g.id.in_(sorted(group_ids))))
    return {r.id: r.screen_name for r in rows}


def new_since(
    connection: Connection, f: CommentFilter, since: datetime, cap: int = NEW_COUNT_CAP
) -> int:
    """Comments `f` selects that were stored after `since`, counted up to `cap` (the first-seen
    index finds them; the filter is checked on those few rows)."""
    c = vk_comments.c
    newer = (
        select(c.owner_id)
        .where(c.first_seen_at > since, *where(connection, f))
        .limit(cap)
        .subquery()
    )
    return int(connection.execute(select(func.count()).select_from(newer)).scalar_one())
