"""/stats: the numbers of `vkpipe stats` (per day, top keywords, categories, authors, posts)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from parser_pipeline.analyze import stats as analysis_stats
from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader
from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import invalid
from parser_pipeline.store import groups as group_store

router = APIRouter(prefix="/stats", tags=["statistics"], dependencies=[Reader])


@router.get("", response_model=models.StatsOut)
def statistics(
    state: State,
    group: Annotated[str | None, Query(description="one group: id or screen name")] = None,
    since: Annotated[date | None, Query(description="first UTC day")] = None,
    until: Annotated[date | None, Query(description="last UTC day (included)")] = None,
    top: Annotated[int, Query(ge=1, le=1000)] = analysis_stats.DEFAULT_TOP,
) -> models.StatsOut:
    if since is not None and until is not None and since > until:
        raise invalid("since", "is after until", "query")
    with state.engine.connect() as connection:
        group_id = group_store.find_groups(connection, [group])[0].id if group else None
        f = analysis_stats.StatsFilter(group_id, since, until)
        return models.StatsOut(
            group_id=group_id,
            comments_per_day=analysis_stats.comments_per_day(connection, f),
            matches_per_day=analysis_stats.matches_per_day(connection, f),
            top_keywords=analysis_stats.top_keywords(connection, f, top),
            top_categories=analysis_stats.top_categories(connection, f, top),
            top_authors=analysis_stats.top_authors(connection, f, top),
            top_posts=analysis_stats.top_posts(connection, f, top),
        )
