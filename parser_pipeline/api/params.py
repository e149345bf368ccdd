"""Query parameters shared by routes: the comment filter of /comments and /stats."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, Query
from pydantic import ValidationError

from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import ApiError, invalid
from parser_pipeline.store.comment_filter import (
    MAX_TEXT_CHARS,
    MIN_TEXT_CHARS,
    CommentFilter,
    DeletedMode,
    build_filter,
)

# The query parameter of each filter field, for errors that name what the client sent.
_PARAMETERS: Final = {
    "group_ids": "group",
    "post_id": "post",
    "author_ids": "author",
    "keyword_ids": "keyword",
    "keywords": "phrase",
    "categories": "category",
}
_BOUND: Final = "ISO date (2024-06-01) or date-time; naive means UTC"


def comment_filter(
    state: State,
    text: Annotated[
        str | None,
        Query(
            min_length=MIN_TEXT_CHARS,
            max_length=MAX_TEXT_CHARS,
            description="the text contains this (case-insensitive)",
        ),
    ] = None,
    group: Annotated[list[str], Query(description="group id or screen name; repeat")] = [],  # noqa: B006
    post: Annotated[int | None, Query(description="post id; needs exactly one group")] = None,
    author: Annotated[list[int], Query(description="author id (users > 0); repeat")] = [],  # noqa: B006
    keyword: Annotated[list[int], Query(description="keyword id; repeat")] = [],  # noqa: B006
    phrase: Annotated[list[str], Query(description="keyword phrase; repeat")] = [],  # noqa: B006
    category: Annotated[list[str], Query(description="keyword category; repeat")] = [],  # noqa: B006
    matched_only: bool = False,
    since: Annotated[str | None, Query(description=f"from (inclusive): {_BOUND}")] = None,
    until: Annotated[
        str | None, Query(description=f"to (exclusive; a date: the whole day): {_BOUND}")
    ] = None,
    deleted: DeletedMode = DeletedMode.include,
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
    }
    try:
        with state.engine.connect() as connection:
            f = build_filter(connection, groups=group, **fields)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise invalid("since", "must be before until", "query")
    return f


def _invalid(exc: ValidationError) -> ApiError:
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else "post"
    message = str(error["msg"]).removeprefix("Value error, ")
    return invalid(_PARAMETERS.get(field, field), message, "query")


CommentQuery = Annotated[CommentFilter, Depends(comment_filter)]
