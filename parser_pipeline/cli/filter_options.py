"""The comment filter's command-line options: one set for `vkpipe export`, `exports`, `alerts`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from parser_pipeline.export.options import build_filters
from parser_pipeline.store.comment_filter import CommentFilter, DeletedMode
from parser_pipeline.store.names import ReviewState

GroupOpt = Annotated[
    list[str] | None,
    typer.Option("--group", "-g", help="A monitored group (id or screen name); repeatable."),
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="From this ISO date or date-time (inclusive, UTC).")
]
UntilOpt = Annotated[
    str | None,
    typer.Option("--until", help="To this ISO date (the whole day) or date-time (exclusive)."),
]
KeywordOpt = Annotated[
    list[str] | None,
    typer.Option("--keyword", "-k", help="Comments matching this keyword phrase; repeatable."),
]
KeywordIdOpt = Annotated[
    list[int] | None, typer.Option("--keyword-id", help="Comments matching this keyword id.")
]
CategoryOpt = Annotated[
    list[str] | None,
    typer.Option("--category", "-c", help="Comments matching a keyword of this category."),
]
MatchedOpt = Annotated[
    bool, typer.Option("--matched-only", help="Only comments with at least one keyword match.")
]
AuthorOpt = Annotated[
    list[int] | None, typer.Option("--author", help="Only comments by this VK id; repeatable.")
]
DeletedOpt = Annotated[
    DeletedMode, typer.Option("--deleted", help="Deleted comments: include, exclude or only.")
]
ReviewStateOpt = Annotated[
    list[ReviewState] | None,
    typer.Option("--review-state", help="Comments in this review state; repeatable."),
]
TagOpt = Annotated[
    list[str] | None, typer.Option("--tag", help="Comments with this review tag; repeatable.")
]


def comment_filter_of(
    engine: Engine,
    *,
    group: list[str] | None,
    since: str | None,
    until: str | None,
    keyword: list[str] | None,
    keyword_id: list[int] | None,
    category: list[str] | None,
    matched_only: bool,
    author: list[int] | None,
    deleted: DeletedMode,
    review_state: list[ReviewState] | None,
    tag: list[str] | None,
) -> CommentFilter:
    """The comment filter the options describe (names checked against the database)."""
    return build_filters(
        engine,
        groups=group or (),
        since=since,
        until=until,
        keywords=keyword or (),
        keyword_ids=keyword_id or (),
        categories=category or (),
        matched_only=matched_only,
        authors=author or (),
        deleted=deleted.value,
        review_states=[state.value for state in review_state or ()],
        tags=tag or (),
    )
