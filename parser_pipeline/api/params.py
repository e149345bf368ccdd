"""Parameters checked at the edge, once: ids in paths and queries, text, time bounds, filters.

An id in a path that no row can have (outside its BIGINT column, or not positive) is 404: the
path names a thing that cannot exist. Numbers and text in a query or body out of their range,
or with a NUL character, are 422 naming the field. The schema says the same (bounds, and a
pattern that excludes NUL), so what the document offers is what the server takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import Depends, Path, Query
from pydantic import AfterValidator, Field, ValidationError

from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import ApiError, invalid
from parser_pipeline.store.comment_filter import (
    MAX_TEXT_CHARS,
    MIN_TEXT_CHARS,
    CommentFilter,
    DeletedMode,
    build_filter,
)
from parser_pipeline.store.names import ReviewState
from parser_pipeline.values import MAX_ID, MAX_VK_ID, NO_NUL_PATTERN, Tag, no_nul

# The query parameter of each filter field, for errors that name what the client sent.
_PARAMETERS: Final = {
    "group_ids": "group",
    "post_id": "post",
    "author_ids": "author",
    "keyword_ids": "keyword",
    "keywords": "phrase",
    "categories": "category",
    "review_states": "review_state",
    "tags": "tag",
}
# A time bound: an ISO date or date-time (see values.parse_bound); the schema offers both.
_BOUND_SCHEMA: Final[dict[str, Any]] = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]
}
# The schema of text without NUL, for a query parameter's json_schema_extra (and of a list of
# such texts: the pattern belongs to the items).
NO_NUL: Final[dict[str, Any]] = {"pattern": NO_NUL_PATTERN}
NO_NUL_ITEMS: Final[dict[str, Any]] = {"items": {"type": "string", **NO_NUL}}


def _exists(what: str, high: int = MAX_ID) -> Callable[[int], int]:
    def check(value: int) -> int:
        if not 0 < value <= high:
            raise ApiError(404, "not_found", f"no {what} has id {value}")
        return value

    return check


# Path parameters that are ids: 404 when no row can have the id.
KeywordId = Annotated[int, Path(description="a keyword's id"), AfterValidator(_exists("keyword"))]
JobId = Annotated[int, Path(description="a crawl job's id"), AfterValidator(_exists("job"))]
ExportId = Annotated[int, Path(description="an export's id"), AfterValidator(_exists("export"))]
AlertRuleId = Annotated[
    int, Path(description="an alert rule's id"), AfterValidator(_exists("alert rule"))
]
GroupIdPath = Annotated[
    int, Path(description="a VK group id"), AfterValidator(_exists("group", MAX_VK_ID))
]
CommentIdPath = Annotated[
    int, Path(description="a VK comment id"), AfterValidator(_exists("comment", MAX_VK_ID))
]
# Text a user typed: no NUL (PostgreSQL cannot store one; 422 naming the field).
QueryText = Annotated[str, AfterValidator(no_nul)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
_AuthorId = Annotated[int, Field(ge=-MAX_VK_ID, le=MAX_VK_ID)]
_KeywordId = Annotated[int, Field(ge=1, le=MAX_ID)]


def comment_filter(
    state: State,
    text: Annotated[
        QueryText | None,
        Query(
            min_length=MIN_TEXT_CHARS,
            max_length=MAX_TEXT_CHARS,
            description="the text contains this (case-insensitive)",
            json_schema_extra=NO_NUL,
        ),
    ] = None,
    group: Annotated[
        list[QueryText],
        Query(
            description="group: id, screen name, club123...; repeat",
            json_schema_extra=NO_NUL_ITEMS,
        ),
    ] = [],  # noqa: B006
    post: Annotated[int | None, Query(ge=1, le=MAX_VK_ID, description="post id")] = None,
    author: Annotated[list[_AuthorId], Query(description="author id (users > 0); repeat")] = [],  # noqa: B006
    keyword: Annotated[list[_KeywordId], Query(description="keyword id; repeat")] = [],  # noqa: B006
    phrase: Annotated[
        list[QueryText],
        Query(description="keyword phrase; repeat", json_schema_extra=NO_NUL_ITEMS),
    ] = [],  # noqa: B006
    category: Annotated[
        list[QueryText],
        Query(description="keyword category; repeat", json_schema_extra=NO_NUL_ITEMS),
    ] = [],  # noqa: B006
    matched_only: bool = False,
    since: Annotated[
        str | None,
        Query(description="from (inclusive); naive = UTC", json_schema_extra=_BOUND_SCHEMA),
    ] = None,
    until: Annotated[
        str | None,
        Query(
            description="to (exclusive; a date: to the end of that day); naive = UTC",
            json_schema_extra=_BOUND_SCHEMA,
        ),
    ] = None,
    deleted: DeletedMode = DeletedMode.include,
    review_state: Annotated[
        list[ReviewState],
        Query(description="review state (new: nobody reviewed it); repeat for any of several"),
    ] = [],  # noqa: B006
    tag: Annotated[list[Tag], Query(description="a tag (any letter case); repeat")] = [],  # noqa: B006
) -> CommentFilter:
    """The comments a request is about; 404 for a group or keyword that does not exist."""
    fields: dict[str, Any] = {
        "text": text,
        "post_id": post,
        "author_ids": tuple(dict.fromkeys(author)),
        "keyword_ids": tuple(keyword),
        "keywords": tuple(phrase),
        "categories": tuple(category),
        "matched_only": matched_only,
        "since": since,
        "until": until,
        "deleted": deleted,
        "review_states": tuple(dict.fromkeys(review_state)),
        "tags": tuple(dict.fromkeys(tag)),
    }
    try:
        with state.engine.connect() as connection:
            return build_filter(connection, groups=group, **fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "query"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise invalid(_PARAMETERS.get(field, field), message, "query") from None


CommentQuery = Annotated[CommentFilter, Depends(comment_filter)]
