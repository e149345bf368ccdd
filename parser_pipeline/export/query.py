"""The export SELECT: comments with their group, author and matched keywords, in date order.

One statement on PostgreSQL and SQLite alike. A comment's matched keywords come from one
correlated subquery per row that aggregates (phrase, category) pairs as JSON (`json_agg` on
PostgreSQL, `json_group_array` on SQLite): no GROUP BY over the whole result, so the rows
stream in index order and the first batch arrives at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.store.names import ReviewState
from parser_pipeline.store.schema import (
    comment_reviews,
    comment_tags,
    keyword_matches,
    keywords,
    vk_authors,
    vk_comments,
    vk_groups,
)


def _matches_column(dialect: str) -> Any:
    km, kw = keyword_matches, keywords
    if dialect == "postgresql":
        aggregate = func.json_agg(func.json_build_array(kw.c.phrase, kw.c.category))
    else:
        aggregate = func.json_group_array(func.json_array(kw.c.phrase, kw.c.category))
    return (
        select(aggregate)
        .select_from(km.join(kw, kw.c.id == km.c.keyword_id))
        .where(
            km.c.owner_id == vk_comments.c.owner_id,
            km.c.comment_id == vk_comments.c.comment_id,
            # Exclusion rules veto a match; they are never a comment's keyword.
            ~kw.c.is_exclusion,
        )
        .scalar_subquery()
    )


def _review_columns(dialect: str) -> tuple[Any, Any]:
    """The comment's review state (`new` when nobody reviewed it) and its tags as JSON."""
    r, t = comment_reviews.c, comment_tags.c
    state = (
        select(r.state)
        .where(r.owner_id == vk_comments.c.owner_id, r.comment_id == vk_comments.c.comment_id)
        .scalar_subquery()
    )
    aggregate = func.json_agg(t.tag) if dialect == "postgresql" else func.json_group_array(t.tag)
    tags = (
        select(aggregate)
        .where(t.owner_id == vk_comments.c.owner_id, t.comment_id == vk_comments.c.comment_id)
        .scalar_subquery()
    )
    return func.coalesce(state, ReviewState.new.value), tags


def export_query(
    found: Sequence[ColumnElement[bool]],
    *,
    dialect: str,
    changed_since: datetime | None = None,
) -> Select[Any]:
    """The rows of the comments `found` (`comment_filter.where`), ordered by date then
    (owner_id, comment_id): stable and total. `changed_since` keeps the comments changed
    (crawled, edited, deleted) or analyzed since then: a comment that gains a keyword match
    after the last incremental export belongs in the next one."""
    c = vk_comments.c
    changed = (
        []
        if changed_since is None
        else [or_(c.updated_at > changed_since, c.analyzed_at > changed_since)]
    )
    review_state, tags = _review_columns(dialect)
    # Links need only the comment's own ids: no join to vk_posts.
    source = vk_comments.outerjoin(vk_groups, vk_groups.c.id == -c.owner_id).outerjoin(
        vk_authors, vk_authors.c.id == c.from_id
    )
    return (
        select(
            c.owner_id,
            c.post_id,
            c.comment_id,
            c.parent_comment_id,
            c.from_id,
            c.date,
            c.text,
            c.likes_count,
            c.is_deleted,
            vk_groups.c.name.label("group_name"),
            vk_authors.c.name.label("author_name"),
            _matches_column(dialect).label("matches"),
            review_state.label("review_state"),
            tags.label("tags"),
        )
        .select_from(source)
        .where(*found, *changed)
        .order_by(c.date, c.owner_id, c.comment_id)
    )


def count_query(query: Select[Any]) -> Select[Any]:
    """How many rows `query` yields (for a progress bar's total)."""
    inner = query.with_only_columns(vk_comments.c.comment_id).order_by(None).subquery()
    return select(func.count()).select_from(inner)
