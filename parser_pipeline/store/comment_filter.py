"""Which stored comments a search, an export or a statistic is about: one filter, one WHERE.

`CommentFilter` is what every caller selects comments by (the API's search and statistics, the
export jobs and subscriptions, and whatever stores a filter as JSON); `where(connection, f)`
turns it into SQL conditions on `vk_comments` for PostgreSQL or SQLite. Empty means "no
restriction". Time bounds: `since` inclusive, `until` exclusive, both in UTC (a naive value
means UTC; a bare date as `until` means the whole day, see `values.parse_bound`); since at or
after until selects nothing. Keyword ids,
phrases and categories together select the comments that matched at least one of the named
(non-exclusion) keywords; a name that matches no keyword is NotFoundError. Review states select
comments in any of them (a comment nobody reviewed is `new`), tags comments with any of them.

To filter by something new, add a field whose default means "no restriction" (old stored
filters stay valid) and its condition in `conditions`; every caller then has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator
from sqlalchemy import Connection, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.store.groups import find_groups
from parser_pipeline.store.names import ReviewState
from parser_pipeline.store.schema import (
    comment_reviews,
    comment_search,
    comment_tags,
    keyword_matches,
    keywords,
    vk_comments,
)
from parser_pipeline.values import AuthorId, RowId, StrictBool, Tag, Text, VkId, parse_bound, utc


class DeletedMode(StrEnum):
    """Comments VK deleted (kept with their text): with the others, left out, or alone."""

    include = "include"
    exclude = "exclude"
    only = "only"


DELETED_MODES: Final = tuple(mode.value for mode in DeletedMode)

# pg_trgm indexes three-character sequences: a shorter needle cannot use the trigram index.
MIN_TEXT_CHARS: Final = 3
# A needle longer than this is a pasted paragraph, not a search.
MAX_TEXT_CHARS: Final = 200
# Names a filter may list: keyword ids, phrases, categories, groups, authors.
MAX_LISTED: Final = 1000
_LIKE_ESCAPE: Final = "\\"
# The SQL function comments' text is folded with on SQLite (registered per connection).
SQLITE_CASEFOLD: Final = "vkpipe_casefold"

_Name = Text
# A time bound as JSON: an ISO date-time, or a date (see values.parse_bound).
_Bound = Annotated[
    datetime,
    WithJsonSchema(
        {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]}
    ),
]


class CommentFilter(BaseModel):
    """Which comments; every field's default is "no restriction" (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: Text | None = Field(
        None,
        min_length=MIN_TEXT_CHARS,
        max_length=MAX_TEXT_CHARS,
        description="the text contains this (case-insensitive)",
    )
    group_ids: tuple[VkId, ...] = Field((), max_length=MAX_LISTED)
    post_id: VkId | None = Field(None, description="post id (served by an index with groups)")
    author_ids: tuple[AuthorId, ...] = Field((), max_length=MAX_LISTED)
    keyword_ids: tuple[RowId, ...] = Field((), max_length=MAX_LISTED)
    keywords: tuple[_Name, ...] = Field((), max_length=MAX_LISTED, description="phrases")
    categories: tuple[_Name, ...] = Field((), max_length=MAX_LISTED)
    matched_only: StrictBool = False
    since: _Bound | None = Field(None, description="inclusive; naive means UTC")
    until: _Bound | None = Field(None, description="exclusive; a bare date: the whole day")
    deleted: DeletedMode = DeletedMode.include
    review_states: tuple[ReviewState, ...] = Field(
        (), max_length=len(ReviewState), description="in any of these review states"
    )
    tags: tuple[Tag, ...] = Field((), max_length=MAX_LISTED, description="with any of these tags")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _bound(cls, value: Any, info: Any) -> Any:
        if value is None or isinstance(value, datetime):
            return None if value is None else utc(value)
        if isinstance(value, date):  # a day: its start, or as `until` its end
            value = value.isoformat()
        if isinstance(value, str):
            return parse_bound(value, end=info.field_name == "until")
        raise ValueError("must be an ISO date (2024-06-01) or date-time")

    @property
    def by_keyword(self) -> bool:
        return bool(self.keyword_ids or self.keywords or self.categories)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CommentFilter:
        """A stored filter; ConfigError naming the first field that is wrong."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise ConfigError(f"stored comment filter is invalid: {first_error(exc)}") from None


def field_error(exc: ValidationError) -> tuple[str, str]:
    """The first problem of a validation error: the top-level field (empty for the model as a
    whole) and the message."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    return field, str(error["msg"]).removeprefix("Value error, ")


def first_error(exc: ValidationError) -> str:
    """The first problem of a validation error as one line, `field: message`."""
    field, message = field_error(exc)
    return f"{field}: {message}" if field else message


def resolve_keyword_ids(connection: Connection, f: CommentFilter) -> tuple[int, ...] | None:
    """The keyword ids `f` names (ids, phrases, categories); None: no keyword filter.

    Exclusion rules veto matches and never select a comment. Phrases and categories compare
    case-insensitively (Unicode casefold, in Python: SQLite's lower() knows ASCII only).
    """
    if not f.by_keyword:
        return None
    columns = (keywords.c.id, keywords.c.phrase, keywords.c.category)
    rows = list(connection.execute(select(*columns).where(~keywords.c.is_exclusion)))
    known_ids = {row.id for row in rows}
    ids: set[int] = set()
    for keyword_id in f.keyword_ids:
        if keyword_id not in known_ids:
            raise NotFoundError(f"keyword {keyword_id} does not exist")
        ids.add(keyword_id)
    for wanted, column in ((f.keywords, "phrase"), (f.categories, "category")):
        for name in wanted:
            found = {r.id for r in rows if getattr(r, column).casefold() == name.casefold()}
            if not found:
                what = "keyword" if column == "phrase" else "keyword category"
                raise NotFoundError(f"{what} {name!r} does not exist")
            ids |= found
    return tuple(sorted(ids))


def like_pattern(needle: str) -> str:
    """`%needle%` with LIKE's wildcards in the needle taken literally."""
    escaped = needle.replace(_LIKE_ESCAPE, 2 * _LIKE_ESCAPE).replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def conditions(
    f: CommentFilter, keyword_ids: Sequence[int] | None, dialect: str
) -> list[ColumnElement[bool]]:
    """The WHERE conditions on vk_comments for `f`, its keywords resolved (pure).

    Each has an index (schema.py); one group is an equality so that the (owner_id, ...)
    indexes serve it and its keyset.
    """
    c = vk_comments.c
    where: list[ColumnElement[bool]] = []
    if len(f.group_ids) == 1:
        where.append(c.owner_id == -f.group_ids[0])
    elif f.group_ids:
        where.append(c.owner_id.in_([-g for g in f.group_ids]))
    if f.post_id is not None:
        where.append(c.post_id == f.post_id)
    if len(f.author_ids) == 1:
        where.append(c.from_id == f.author_ids[0])
    elif f.author_ids:
        where.append(c.from_id.in_(f.author_ids))
    if f.since is not None:
        where.append(c.date >= f.since)
    if f.until is not None:
        where.append(c.date < f.until)
    if f.matched_only:
        where.append(c.matched_keywords_count > 0)
    if f.deleted is DeletedMode.exclude:
        where.append(~c.is_deleted)
    elif f.deleted is DeletedMode.only:
        where.append(c.is_deleted)
    if keyword_ids is not None:
        # An alias of its own: a caller may select from keyword_matches too (statistics), and
        # the subquery must correlate with the comment only.
        km = keyword_matches.alias("named_keyword_match").c
        where.append(
            exists().where(
                km.owner_id == c.owner_id,
                km.comment_id == c.comment_id,
                km.keyword_id.in_(list(keyword_ids)),
            )
        )
    where.extend(review_conditions(f))
    if f.text and dialect == "sqlite":
        where.append(func.instr(getattr(func, SQLITE_CASEFOLD)(c.text), f.text.casefold()) > 0)
    elif f.text:
        # The analyzed texts (store/text_search.py), their trigram index serving ILIKE, which
        # folds case by the database's locale. The planner drives from whichever side is
        # narrower: the index's matches, or the comments the other conditions select.
        s = comment_search.alias("searched_text").c
        where.append(
            exists().where(
                s.owner_id == c.owner_id,
                s.comment_id == c.comment_id,
                s.text.ilike(like_pattern(f.text), escape=_LIKE_ESCAPE),
            )
        )
    return where


def review_conditions(f: CommentFilter) -> list[ColumnElement[bool]]:
    """The review state and tag conditions of `f` (pure): each a correlated lookup through the
    review tables' primary keys, or driven from their (state, ...) and (tag, ...) indexes."""
    c = vk_comments.c
    where: list[ColumnElement[bool]] = []
    states = sorted(set(f.review_states))
    if states and len(states) < len(ReviewState):
        r = comment_reviews.c
        same = (r.owner_id == c.owner_id, r.comment_id == c.comment_id)
        if ReviewState.new in states:  # unreviewed comments are new: no row in another state
            others = [s.value for s in ReviewState if s not in states]
            where.append(~exists().where(*same, r.state.in_(others)))
        else:
            where.append(exists().where(*same, r.state.in_([s.value for s in states])))
    if f.tags:
        t = comment_tags.c
        where.append(
            exists().where(
                t.owner_id == c.owner_id, t.comment_id == c.comment_id, t.tag.in_(sorted(f.tags))
            )
        )
    return where


def where(connection: Connection, f: CommentFilter) -> list[ColumnElement[bool]]:
    """`conditions` for this connection: keywords resolved, SQLite's casefold registered."""
    dialect = connection.dialect.name
    if dialect == "sqlite" and f.text:
        _register_casefold(connection)
    return conditions(f, resolve_keyword_ids(connection, f), dialect)


def _register_casefold(connection: Connection) -> None:
    """SQLite's lower() and LIKE fold ASCII only; Russian text needs Python's casefold."""
    raw = connection.connection.driver_connection
    assert raw is not None, "a connection in use has its driver connection"
    raw.create_function(SQLITE_CASEFOLD, 1, _casefold, deterministic=True)


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


def build_filter(
    connection: Connection, *, groups: Sequence[str] = (), **fields: Any
) -> CommentFilter:
    """A filter from what a user typed: groups as any reference to a monitored group (see
    `group_refs`), the other fields as `CommentFilter` takes them. NotFoundError names a group
    or keyword that does not exist; pydantic's ValidationError names a field that is invalid."""
    group_ids = tuple(dict.fromkeys(row.id for row in find_groups(connection, groups)))
    f = CommentFilter.model_validate({**fields, "group_ids": group_ids})
    resolve_keyword_ids(connection, f)  # an unknown keyword is an error now, not later
    return f
