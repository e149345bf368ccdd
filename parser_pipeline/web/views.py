"""What each workspace page shows, read in one call per page from the store's functions.

Routes parse the request, call one of these, and render its result; no SQL lives here either,
only the composition of the store's and the analysis' reads for a page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row

from parser_pipeline.analyze import stats as analysis_stats
from parser_pipeline.analyze import store as keyword_store
from parser_pipeline.analyze.exclusions import Suggestion, exclusion_suggestions
from parser_pipeline.store import feed, reviews, search
from parser_pipeline.store.groups import list_groups
from parser_pipeline.web.filters import FilterForm, categories, parse_filters

# Comments per feed page: a screenful or two, and the bench's unit.
FEED_PAGE: Final = 25


@dataclass(frozen=True, slots=True)
class Choices:
    """What the filter form offers: groups, keyword categories, tags in use."""

    groups: list[Row[Any]]
    categories: list[str]
    tags: list[tuple[str, int]]


def choices(connection: Connection) -> Choices:
    return Choices(list_groups(connection), categories(connection), reviews.tag_counts(connection))


@dataclass(frozen=True, slots=True)
class FeedView:
    form: FilterForm
    page: feed.FeedPage
    choices: Choices | None = None


def feed_view(
    connection: Connection,
    values: dict[str, Any],
    cursor: str | None,
    *,
    with_choices: bool = True,
    limit: int = FEED_PAGE,
) -> FeedView:
    """A feed page for the form's values after `cursor` (an empty page while the form or the
    cursor has an error), with the form's choices unless it is a fragment."""
    form = parse_filters(connection, values)
    page = feed.FeedPage([], None)
    if form.filter is not None:
        try:
            after = search.decode_cursor(cursor, form.sort) if cursor else None
        except search.CursorError as exc:
            form.errors["cursor"] = str(exc)
        else:
            page = feed.feed_page(connection, form.filter, form.sort, after, limit)
    return FeedView(form, page, choices(connection) if with_choices else None)


def new_count(
    connection: Connection, values: dict[str, Any], since: datetime
) -> tuple[int, FilterForm]:
    """How many comments the form selects were stored after `since` (0 while it has errors)."""
    form = parse_filters(connection, values)
    count = feed.new_since(connection, form.filter, since) if form.filter is not None else 0
    return count, form


@dataclass(frozen=True, slots=True)
class ChartsView:
    form: FilterForm
    choices: Choices
    report: analysis_stats.StatsReport | None = None
    group_names: dict[int, str] = field(default_factory=dict)


def charts_view(connection: Connection, values: dict[str, Any], *, data: bool) -> ChartsView:
    """The charts' form and, when `data`, the statistics its filter selects (all comments
    unless the form says matched only)."""
    form = parse_filters(connection, values, matched_default=False)
    found = choices(connection)
    report = None
    if data and form.filter is not None:
        report = analysis_stats.report(connection, form.filter, analysis_stats.DEFAULT_TOP)
    names = {row.id: row.name or row.screen_name or f"club{row.id}" for row in found.groups}
    return ChartsView(form, found, report, names)


@dataclass(frozen=True, slots=True)
class KeywordsView:
    keywords: list[Row[Any]]
    suggestions: list[Suggestion]


def keywords_view(connection: Connection) -> KeywordsView:
    return KeywordsView(keyword_store.list_keywords(connection), exclusion_suggestions(connection))
