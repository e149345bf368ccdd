"""Pure mapping from a database row of the export query to an export record with links."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, NamedTuple

VK_WALL_URL: Final = "https://vk.com/wall"
# Lists (keywords, categories) in one text cell (CSV, XLSX): joined with this separator.
LIST_SEPARATOR: Final = "|"


class ExportRecord(NamedTuple):
    """One exported comment; the field names are the column names of every format."""

    group_id: int
    group_name: str | None
    post_id: int
    post_url: str
    comment_id: int
    comment_url: str
    parent_comment_id: int | None
    author_id: int | None
    author_name: str | None
    date: datetime
    text: str
    likes: int
    is_deleted: bool
    keywords: list[str]
    categories: list[str]
    review_state: str
    tags: list[str]


COLUMNS: Final = ExportRecord._fields


def post_url(owner_id: int, post_id: int) -> str:
    return f"{VK_WALL_URL}{owner_id}_{post_id}"


def comment_url(owner_id: int, post_id: int, comment_id: int, parent_id: int | None) -> str:
    """The comment's link; a reply also names its thread, so VK opens the thread expanded."""
    url = f"{VK_WALL_URL}{owner_id}_{post_id}?reply={comment_id}"
    return url if parent_id is None else f"{url}&thread={parent_id}"


def keywords_and_categories(matches: Any) -> tuple[list[str], list[str]]:
    """Sorted distinct phrases and non-empty categories from aggregated (phrase, category) pairs.

    PostgreSQL's json_agg arrives as a list, SQLite's json_group_array as JSON text.
    """
    if matches is None:
        return [], []
    pairs: Sequence[Sequence[str]] = json.loads(matches) if isinstance(matches, str) else matches
    phrases = sorted({pair[0] for pair in pairs})
    categories = sorted({pair[1] for pair in pairs if pair[1]})
    return phrases, categories


def tag_list(tags: Any) -> list[str]:
    """Sorted tags from an aggregate: a list (PostgreSQL's json_agg), JSON text (SQLite's
    json_group_array) or NULL (no tags)."""
    if tags is None:
        return []
    return sorted(json.loads(tags) if isinstance(tags, str) else tags)


def to_record(row: Any) -> ExportRecord:
    """A row of `query.export_query` (attribute access) as an export record."""
    owner_id: int = row.owner_id
    keywords, categories = keywords_and_categories(row.matches)
    return ExportRecord(
        group_id=-owner_id,
        group_name=row.group_name,
        post_id=row.post_id,
        post_url=post_url(owner_id, row.post_id),
        comment_id=row.comment_id,
        comment_url=comment_url(owner_id, row.post_id, row.comment_id, row.parent_comment_id),
        parent_comment_id=row.parent_comment_id,
        author_id=row.from_id,
        author_name=row.author_name,
        date=row.date,
        text=row.text,
        likes=row.likes_count,
        is_deleted=bool(row.is_deleted),
        keywords=keywords,
        categories=categories,
        review_state=row.review_state,
        tags=tag_list(row.tags),
    )


def joined(values: list[str]) -> str:
    """A list in one text cell (CSV, XLSX): `a|b`; an empty list is an empty cell."""
    return LIST_SEPARATOR.join(values)
