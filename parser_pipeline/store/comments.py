"""Reads of stored comments for display: one comment with its thread, and what goes beside a
list of comments (their keyword matches, authors and group names) in a few indexed queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Row, and_, func, select

from parser_pipeline.errors import NotFoundError
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.schema import (
    keyword_matches,
    keywords,
    vk_authors,
    vk_comments,
    vk_groups,
    vk_posts,
)
from parser_pipeline.store.writes import chunks

# Replies shown with one comment: a VK thread can hold thousands; the rest are counted.
THREAD_REPLIES_MAX: Final = 500

Key = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Thread:
    """A comment, the top comment of its thread (maybe itself), the first replies, their
    number, and the post (None if it is not stored)."""

    comment: Row[Any]
    top: Row[Any]
    replies: list[Row[Any]]
    replies_total: int
    post: Row[Any] | None


def comment_thread(connection: Connection, group_id: int, comment_id: int) -> Thread:
    """One stored comment with its thread and post; NotFoundError if it is not stored."""
    owner_id = -group_id
    c = vk_comments.c
    row = connection.execute(
        select(vk_comments).where(c.owner_id == owner_id, c.comment_id == comment_id)
    ).first()
    if row is None:
        raise NotFoundError(f"comment {comment_id} of group {group_id} is not stored")
    top_id = row.parent_comment_id or row.comment_id
    top = row
    if top_id != row.comment_id:
        top = (
            connection.execute(
                select(vk_comments).where(c.owner_id == owner_id, c.comment_id == top_id)
            ).first()
            or row
        )
    in_thread = and_(
        c.owner_id == owner_id, c.post_id == row.post_id, c.parent_comment_id == top_id
    )
    replies = list(
        connection.execute(
            select(vk_comments).where(in_thread).order_by(c.comment_id).limit(THREAD_REPLIES_MAX)
        )
    )
    total = connection.execute(select(func.count()).where(in_thread)).scalar_one()
    post = connection.execute(
        select(vk_posts).where(vk_posts.c.owner_id == owner_id, vk_posts.c.post_id == row.post_id)
    ).first()
    return Thread(row, top, replies, int(total), post)


@dataclass(frozen=True, slots=True)
class Beside:
    """What is shown beside comments: matches by comment key (in text order), authors by id,
    group names by group id."""

    matches: dict[Key, list[Row[Any]]]
    authors: dict[int, Row[Any]]
    group_names: dict[int, str | None]


def beside(connection: Connection, rows: Sequence[Row[Any]]) -> Beside:
    """Matches, authors and group names of comment rows: three indexed queries, none per row."""
    return Beside(
        _matches(connection, [(r.owner_id, r.comment_id) for r in rows]),
        _authors(connection, {r.from_id for r in rows if r.from_id is not None}),
        _group_names(connection, {-r.owner_id for r in rows}),
    )


def _matches(connection: Connection, keys: Sequence[Key]) -> dict[Key, list[Row[Any]]]:
    km, k = keyword_matches.c, keywords.c
    found: dict[Key, list[Row[Any]]] = {}
    for chunk in chunks(keys, KEYS_PER_QUERY):
        rows = connection.execute(
            select(km.owner_id, km.comment_id, km.keyword_id, km.start, km.end, km.matched_text,
                   km.context, k.phrase, k.category, k.is_exclusion)
            .join_from(keyword_matches, keywords, k.id == km.keyword_id)
            .where(keys_in((km.owner_id, km.comment_id), chunk))
            .order_by(km.owner_id, km.comment_id, km.start, km.keyword_id)
        )  # fmt: skip
        for r in rows:
            found.setdefault((r.owner_id, r.comment_id), []).append(r)
    return found


def _authors(connection: Connection, ids: set[int]) -> dict[int, Row[Any]]:
    if not ids:
        return {}
    rows = connection.execute(select(vk_authors).where(vk_authors.c.id.in_(sorted(ids))))
    return {r.id: r for r in rows}


def _group_names(connection: Connection, group_ids: set[int]) -> dict[int, str | None]:
    if not group_ids:
        return {}
    rows = connection.execute(
        select(vk_groups.c.id, vk_groups.c.name).where(vk_groups.c.id.in_(sorted(group_ids)))
    )
    return {r.id: r.name for r in rows}
