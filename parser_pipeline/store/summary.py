"""What the database holds, counted: the numbers a report or a status line shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from parser_pipeline.store.schema import vk_authors, vk_comments, vk_groups, vk_posts


@dataclass(frozen=True, slots=True)
class StoreSummary:
    groups: int
    posts: int
    comments: int
    deleted_comments: int
    matched_comments: int
    authors: int


def summary(connection: Connection) -> StoreSummary:
    """Groups, posts, comments (deleted ones, ones with keyword matches) and authors stored."""

    def count(table: object, *where: object) -> int:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int(connection.execute(query).scalar_one())

    c = vk_comments.c
    return StoreSummary(
        groups=count(vk_groups),
        posts=count(vk_posts),
        comments=count(vk_comments),
        deleted_comments=count(vk_comments, c.is_deleted),
        matched_comments=count(vk_comments, c.matched_keywords_count > 0),
        authors=count(vk_authors),
    )
