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

from sqlalchemy import Connection, Select, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.errors import NotFoundError
from parser_pipeline.export.filters import ExportFilters
from parser_pipeline.store.schema import (
    keyword_matches,
    keywords,
    vk_authors,
    vk_comments,
    vk_groups,
)


def resolve_keyword_ids(connection: Connection, filters: ExportFilters) -> list[int] | None:
    """The keyword ids the filters name (ids, phrases, categories); None: no keyword filter.

    Phrases and categories compare case-insensitively (Unicode casefold, in Python: SQLite's
    lower() knows ASCII only). A name that matches no keyword raises NotFoundError.
    """
    if not filters.by_keyword:
        return None
    # Exclusion rules veto matches; they never select a comment.
    columns = (keywords.c.id, keywords.c.phrase, keywords.c.category)
    rows = list(connection.execute(select(*columns).where(~keywords.c.is_exclusion)))
    ids: set[int] = set()
    known_ids = {row.id for row in rows}
    for keyword_id in filters.keyword_ids:
        if keyword_id not in known_ids:
            raise NotFoundError(f"keyword {keyword_id} does not exist")
        ids.add(keyword_id)
    for wanted, column in ((filters.keywords, "phrase"), (filters.categories, "category")):
        for name in wanted:
            found = {r.id for r in rows if getattr(r, column).casefold() == name.casefold()}
            if not found:
                what = "keyword" if column == "phrase" else "keyword category"
                raise NotFoundError(f"{what} {name!r} does not exist")
            ids |= found
    return sorted(ids)


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


def _conditions(
    filters: ExportFilters, keyword_ids: Sequence[int] | None, changed_since: datetime | None
) -> list[ColumnElement[bool]]:
    c = vk_comments.c
    where: list[ColumnElement[bool]] = []
    if filters.group_ids:
        where.append(c.owner_id.in_([-g for g in filters.group_ids]))
    if filters.since is not None:
        where.append(c.date >= filters.since)
    if filters.until is not None:
        where.append(c.date < filters.until)
    if filters.author_ids:
        where.append(c.from_id.in_(filters.author_ids))
    if filters.deleted == "exclude":
        where.append(~c.is_deleted)
    elif filters.deleted == "only":
        where.append(c.is_deleted)
    if filters.matched_only:
        where.append(c.matched_keywords_count > 0)
    if keyword_ids is not None:
        km = keyword_matches.c
        where.append(
            exists().where(
                km.owner_id == c.owner_id,
                km.comment_id == c.comment_id,
                km.keyword_id.in_(list(keyword_ids)),
            )
        )
    if changed_since is not None:
        # Changed (crawled, edited, deleted) or analyzed since: a comment that gains a keyword
        # match after the last incremental export belongs in the next one.
        where.append(or_(c.updated_at > changed_since, c.analyzed_at > changed_since))
    return where


def export_query(
    filters: ExportFilters,
    *,
    dialect: str,
    keyword_ids: Sequence[int] | None = None,
    changed_since: datetime | None = None,
) -> Select[Any]:
    """The rows of an export, ordered by date then (owner_id, comment_id): stable and total."""
    c = vk_comments.c
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
        )
        .select_from(source)
        .where(*_conditions(filters, keyword_ids, changed_since))
        .order_by(c.date, c.owner_id, c.comment_id)
    )


def count_query(query: Select[Any]) -> Select[Any]:
    """How many rows `query` yields (for a progress bar's total)."""
    inner = query.with_only_columns(vk_comments.c.comment_id).order_by(None).subquery()
    return select(func.count()).select_from(inner)
