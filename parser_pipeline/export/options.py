"""Command-line filter options (`vkpipe export`, `vkpipe stats`, `celery -A workers export`)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy import Engine

from parser_pipeline.errors import ConfigError
from parser_pipeline.store.comment_filter import CommentFilter, build_filter, field_error
from parser_pipeline.values import parse_cli_bound

# The option that sets each filter field, for error lines.
_OPTIONS = {
    "group_ids": "--group",
    "author_ids": "--author",
    "keyword_ids": "--keyword-id",
    "keywords": "--keyword",
    "categories": "--category",
    "matched_only": "--matched-only",
    "deleted": "--deleted",
    "review_states": "--review-state",
    "tags": "--tag",
}


def build_filters(
    engine: Engine,
    *,
    groups: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    keywords: Sequence[str] = (),
    keyword_ids: Sequence[int] = (),
    categories: Sequence[str] = (),
    matched_only: bool = False,
    authors: Sequence[int] = (),
    deleted: str = "include",
    review_states: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> CommentFilter:
    """Filters from what a user typed; groups are ids or screen names of monitored groups.

    Groups and keywords must exist (NotFoundError naming the first that does not); a bad value
    is a ConfigError naming its option.
    """
    lower = parse_cli_bound(since, name="--since", end=False) if since else None
    upper = parse_cli_bound(until, name="--until", end=True) if until else None
    if lower is not None and upper is not None and lower >= upper:
        raise ConfigError(f"--since {since} is not before --until {until}")
    try:
        with engine.connect() as connection:
            return build_filter(
                connection,
                groups=groups,
                since=lower,
                until=upper,
                keywords=tuple(keywords),
                keyword_ids=tuple(keyword_ids),
                categories=tuple(categories),
                matched_only=matched_only,
                author_ids=tuple(dict.fromkeys(authors)),
                deleted=deleted,
                review_states=tuple(dict.fromkeys(review_states)),
                tags=tuple(dict.fromkeys(tags)),
            )
    except ValidationError as exc:
        field, message = field_error(exc)
        raise ConfigError(
            f"{_OPTIONS.get(field, field)}: {message}" if field else message
        ) from None
