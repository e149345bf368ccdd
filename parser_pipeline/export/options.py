"""Command-line filter values (group names, ISO dates, phrases) as ExportFilters."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy import Engine

from parser_pipeline.errors import ConfigError
from parser_pipeline.export.filters import DELETED_MODES, DeletedMode, ExportFilters, parse_bound
from parser_pipeline.export.query import resolve_keyword_ids
from parser_pipeline.store import groups as group_store


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
) -> ExportFilters:
    """Filters from what a user typed; groups are ids or screen names of monitored groups.

    Groups and keywords must exist (NotFoundError naming the first that does not).
    """
    group_ids: list[int] = []
    if groups:
        with engine.connect() as connection:
            group_ids = [row.id for row in group_store.find_groups(connection, list(groups))]
    lower = parse_bound(since, name="--since", end=False) if since else None
    upper = parse_bound(until, name="--until", end=True) if until else None
    if lower is not None and upper is not None and lower >= upper:
        raise ConfigError(f"--since {since} is not before --until {until}")
    if deleted not in DELETED_MODES:
        raise ConfigError(f"--deleted {deleted!r}: use one of {', '.join(DELETED_MODES)}")
    mode: DeletedMode = deleted  # checked just above
    try:
        filters = ExportFilters(
            group_ids=tuple(dict.fromkeys(group_ids)),
            since=lower,
            until=upper,
            keywords=tuple(keywords),
            keyword_ids=tuple(keyword_ids),
            categories=tuple(categories),
            matched_only=matched_only,
            author_ids=tuple(authors),
            deleted=mode,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    with engine.connect() as connection:
        resolve_keyword_ids(connection, filters)  # an unknown keyword is an error now, not later
    return filters
