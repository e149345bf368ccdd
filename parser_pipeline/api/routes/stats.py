"""/stats: the numbers of `vkpipe stats` (per day, top keywords, categories, authors, posts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parser_pipeline.analyze import stats as analysis_stats
from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader
from parser_pipeline.api.deps import State
from parser_pipeline.api.params import CommentQuery

router = APIRouter(prefix="/stats", tags=["statistics"], dependencies=[Reader])


@router.get("", response_model=models.StatsOut)
def statistics(
    state: State,
    f: CommentQuery,
    top: Annotated[int, Query(ge=1, le=1000)] = analysis_stats.DEFAULT_TOP,
) -> models.StatsOut:
    """The statistics of the comments the filters select (the filters of /comments)."""
    with state.engine.connect() as connection:
        report = analysis_stats.report(connection, f, top)
    return models.StatsOut(
        group_id=f.group_ids[0] if len(f.group_ids) == 1 else None, **report.as_fields()
    )
