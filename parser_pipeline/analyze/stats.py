"""Statistics of stored comments and matches as SQLAlchemy Core queries (CLI, API and exports).

Every function takes a connection and the `CommentFilter` of the comments that count (the
filter of search and exports: groups, dates with their one meaning, keywords, ...) and returns
typed rows. A match counts as in `service`: a match of an active,
non-exclusion keyword in a comment where no active exclusion rule of its category matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import Connection, Select, and_, case, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.store.comment_filter import CommentFilter, where
from parser_pipeline.store.schema import (
    keyword_matches,
    keywords,
    vk_authors,
    vk_comments,
    vk_posts,
)

# Rows of a "top" table unless asked otherwise.
DEFAULT_TOP: Final = 10
# Characters of a post's text shown beside it.
POST_PREVIEW_CHARS: Final = 80


@dataclass(frozen=True, slots=True)
class GroupDay:
    day: date
    group_id: int
    comments: int


@dataclass(frozen=True, slots=True)
class MatchDay:
    day: date
    matches: int
    comments: int


@dataclass(frozen=True, slots=True)
class GroupCategoryDay:
    """Counted matches and comments with them on a UTC day in a group for a category."""

    day: date
    group_id: int
    category: str
    matches: int
    comments: int


@dataclass(frozen=True, slots=True)
class KeywordCount:
    keyword_id: int
    phrase: str
    category: str
    matches: int
    comments: int


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: str
    matches: int
    comments: int


@dataclass(frozen=True, slots=True)
class AuthorCount:
    author_id: int
    name: str | None
    comments: int
    matched_comments: int


@dataclass(frozen=True, slots=True)
class PostCount:
    group_id: int
    post_id: int
    comments: int
    matched_comments: int
    text: str


def _day(connection: Connection, column: Any) -> Any:
    """The UTC day of a timestamp as 'YYYY-MM-DD' text, on either database."""
    if connection.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def counted_matches(found: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """keyword_matches rows that count (see the module docstring), with the comment's columns
    and the keyword's phrase and category, of the comments `found` (`comment_filter.where`)."""
    km, k, c = keyword_matches.c, keywords.c, vk_comments.c
    exclusion = keywords.alias("exclusion")
    excluding = keyword_matches.alias("excluding")
    excluded = exists().where(
        excluding.c.owner_id == km.owner_id,
        excluding.c.comment_id == km.comment_id,
        excluding.c.keyword_id == exclusion.c.id,
        exclusion.c.is_exclusion,
        exclusion.c.is_active,
        exclusion.c.category == k.category,
    )
    return (
        select(
            km.owner_id,
            km.comment_id,
            km.keyword_id,
            km.start,
            c.date,
            c.post_id,
            c.from_id,
            k.phrase,
            k.category,
        )
        .join_from(keyword_matches, keywords, k.id == km.keyword_id)
        .join(vk_comments, and_(c.owner_id == km.owner_id, c.comment_id == km.comment_id))
        .where(k.is_active, ~k.is_exclusion, ~excluded, *found)
    )


def comments_per_day(connection: Connection, f: CommentFilter) -> list[GroupDay]:
    """Comments per UTC day per group, by day then group."""
    day = _day(connection, vk_comments.c.date).label("day")
    query = (
        select(day, vk_comments.c.owner_id, func.count().label("comments"))
        .where(*where(connection, f))
        .group_by(day, vk_comments.c.owner_id)
        .order_by(day, vk_comments.c.owner_id.desc())
    )
    return [GroupDay(_as_date(r.day), -r.owner_id, r.comments) for r in connection.execute(query)]


def _per_comment(connection: Connection, f: CommentFilter, *columns: str) -> Any:
    """Counted matches grouped by comment and `columns`: one row per comment with `n` matches
    (counting comments is then counting rows, on either database)."""
    counted = counted_matches(where(connection, f)).subquery()
    keys = [counted.c[name] for name in (*columns, "owner_id", "comment_id")]
    return select(*keys, func.count().label("n")).group_by(*keys).subquery()


def matches_per_day(connection: Connection, f: CommentFilter) -> list[MatchDay]:
    """Counted matches and comments with them per UTC day of the comment."""
    per_comment = _per_comment(connection, f, "date")
    day = _day(connection, per_comment.c.date).label("day")
    query = (
        select(day, func.sum(per_comment.c.n).label("matches"), func.count().label("comments"))
        .group_by(day)
        .order_by(day)
    )
    return [
        MatchDay(_as_date(r.day), int(r.matches), r.comments) for r in connection.execute(query)
    ]


def matches_per_group_category_day(
    connection: Connection, f: CommentFilter
) -> list[GroupCategoryDay]:
    """Counted matches and comments with them per UTC day, group and category (the charts sum
    them per group or per category), by day, then group, then category."""
    per_comment = _per_comment(connection, f, "date", "category")
    day = _day(connection, per_comment.c.date).label("day")
    keys = (day, per_comment.c.owner_id, per_comment.c.category)
    query = (
        select(*keys, func.sum(per_comment.c.n).label("matches"), func.count().label("comments"))
        .group_by(*keys)
        .order_by(day, per_comment.c.owner_id.desc(), per_comment.c.category)
    )
    return [
        GroupCategoryDay(_as_date(r.day), -r.owner_id, r.category, int(r.matches), r.comments)
        for r in connection.execute(query)
    ]


def top_keywords(
    connection: Connection, f: CommentFilter, limit: int = DEFAULT_TOP
) -> list[KeywordCount]:
    """Keywords by counted matches, then by comments, then id."""
    per_comment = _per_comment(connection, f, "keyword_id", "phrase", "category")
    matches = func.sum(per_comment.c.n).label("matches")
    comments = func.count().label("comments")
    keys = (per_comment.c.keyword_id, per_comment.c.phrase, per_comment.c.category)
    query = (
        select(*keys, matches, comments)
        .group_by(*keys)
        .order_by(matches.desc(), comments.desc(), per_comment.c.keyword_id)
        .limit(limit)
    )
    return [
        KeywordCount(r.keyword_id, r.phrase, r.category, int(r.matches), r.comments)
        for r in connection.execute(query)
    ]


def top_categories(
    connection: Connection, f: CommentFilter, limit: int = DEFAULT_TOP
) -> list[CategoryCount]:
    """Categories by counted matches (of all their keywords), then comments, then name."""
    per_comment = _per_comment(connection, f, "category")
    matches = func.sum(per_comment.c.n).label("matches")
    comments = func.count().label("comments")
    query = (
        select(per_comment.c.category, matches, comments)
        .group_by(per_comment.c.category)
        .order_by(matches.desc(), comments.desc(), per_comment.c.category)
        .limit(limit)
    )
    return [
        CategoryCount(r.category, int(r.matches), r.comments) for r in connection.execute(query)
    ]


def top_authors(
    connection: Connection, f: CommentFilter, limit: int = DEFAULT_TOP
) -> list[AuthorCount]:
    """Authors by comments, with how many of them have counted matches."""
    c = vk_comments.c
    comments = func.count().label("comments")
    matched = func.sum(case((c.matched_keywords_count > 0, 1), else_=0))
    query = (
        select(c.from_id, vk_authors.c.name, comments, func.coalesce(matched, 0).label("matched"))
        .outerjoin(vk_authors, vk_authors.c.id == c.from_id)
        .where(c.from_id.is_not(None), *where(connection, f))
        .group_by(c.from_id, vk_authors.c.name)
        .order_by(comments.desc(), c.from_id)
        .limit(limit)
    )
    return [
        AuthorCount(r.from_id, r.name, r.comments, int(r.matched))
        for r in connection.execute(query)
    ]


def top_posts(
    connection: Connection, f: CommentFilter, limit: int = DEFAULT_TOP
) -> list[PostCount]:
    """The most discussed posts: by comments in the range, with their text's beginning."""
    c = vk_comments.c
    comments = func.count().label("comments")
    matched = func.sum(case((c.matched_keywords_count > 0, 1), else_=0))
    ranked = (
        select(c.owner_id, c.post_id, comments, func.coalesce(matched, 0).label("matched"))
        .where(*where(connection, f))
        .group_by(c.owner_id, c.post_id)
        .order_by(comments.desc(), c.owner_id, c.post_id)
        .limit(limit)
        .subquery()
    )
    query = (
        select(ranked, vk_posts.c.text)
        .outerjoin(
            vk_posts,
            and_(vk_posts.c.owner_id == ranked.c.owner_id, vk_posts.c.post_id == ranked.c.post_id),
        )
        .order_by(ranked.c.comments.desc(), ranked.c.owner_id, ranked.c.post_id)
    )
    return [
        PostCount(
            -r.owner_id,
            r.post_id,
            r.comments,
            int(r.matched),
            " ".join((r.text or "").split())[:POST_PREVIEW_CHARS],
        )
        for r in connection.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Every table of `vkpipe stats` and `GET /stats` for one filter."""

    comments_per_day: list[GroupDay]
    matches_per_day: list[MatchDay]
    matches_per_group_category_day: list[GroupCategoryDay]
    top_keywords: list[KeywordCount]
    top_categories: list[CategoryCount]
    top_authors: list[AuthorCount]
    top_posts: list[PostCount]

    def as_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def report(connection: Connection, f: CommentFilter, top: int = DEFAULT_TOP) -> StatsReport:
    """All the statistics of the comments `f` selects; `top` rows per top table."""
    return StatsReport(
        comments_per_day=comments_per_day(connection, f),
        matches_per_day=matches_per_day(connection, f),
        matches_per_group_category_day=matches_per_group_category_day(connection, f),
        top_keywords=top_keywords(connection, f, top),
        top_categories=top_categories(connection, f, top),
        top_authors=top_authors(connection, f, top),
        top_posts=top_posts(connection, f, top),
    )
