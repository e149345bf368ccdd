"""`vkpipe analyze` (match stored comments, in this process) and `vkpipe stats` (tables)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from parser_pipeline.analyze import stats as analysis_stats
from parser_pipeline.analyze.service import (
    ANALYZE_BATCH_SIZE,
    analyze_comments,
    rematch,
)
from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.export.options import build_filters
from parser_pipeline.services import open_engine

# Largest batch the CLI accepts: a transaction's texts and matches stay in memory.
MAX_CLI_BATCH_SIZE = 10_000


def analyze(
    ctx: typer.Context,
    rematch_all: Annotated[
        bool,
        typer.Option(
            "--rematch",
            help="Match every stored comment again (after rules changed), not only new ones.",
        ),
    ] = False,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", min=1, max=MAX_CLI_BATCH_SIZE, help="Comments per transaction."
        ),
    ] = ANALYZE_BATCH_SIZE,
) -> None:
    """Match comments against the keyword rules: new and changed ones, or all with --rematch."""
    engine = open_engine(settings_of(ctx))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("comments", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        if rematch_all:
            summary = rematch(engine, batch_size=batch_size, on_progress=on_progress)
        else:
            summary = analyze_comments(engine, batch_size=batch_size, on_progress=on_progress)
    console.print(
        f"{summary.comments} comment(s) analyzed with {summary.rules} rule(s): "
        f"{summary.changed} changed, {summary.matched_comments} with matches, "
        f"{summary.matches} match row(s) written",
        markup=False,
    )


def _table(title: str, *headers: str) -> Table:
    return Table(*headers, title=title, title_justify="left")


def stats(
    ctx: typer.Context,
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="One group: its id or screen name.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this ISO date or date-time (inclusive, UTC)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="To this ISO date (the whole day) or date-time (exclusive)."),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=1000, help="Rows of each top table.")
    ] = analysis_stats.DEFAULT_TOP,
    daily: Annotated[
        bool,
        typer.Option("--daily", help="Also print comments and matches per day (one row a day)."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print every table as one JSON object (the fields of GET /stats)."
        ),
    ] = False,
) -> None:
    """Summaries first (top keywords, categories, authors, posts), then counts per day.

    The per-day rows can be thousands; without --daily one line sums them up.
    """
    engine = open_engine(settings_of(ctx))
    f = build_filters(engine, groups=[group] if group else [], since=since, until=until)
    with engine.connect() as connection:
        found = analysis_stats.report(connection, f, top)
    if as_json:
        typer.echo(json.dumps(asdict(found), default=str, ensure_ascii=False))
        return
    per_day, keywords, categories = found.comments_per_day, found.top_keywords, found.top_categories
    authors, posts, matches = found.top_authors, found.top_posts, found.matches_per_day

    table = _table("Top keywords", "id", "phrase", "category", "matches", "comments")
    for k in keywords:
        table.add_row(
            str(k.keyword_id), Text(k.phrase), Text(k.category), str(k.matches), str(k.comments)
        )
    console.print(table)
    table = _table("Top categories", "category", "matches", "comments")
    for c in categories:
        table.add_row(Text(c.category or "(none)"), str(c.matches), str(c.comments))
    console.print(table)
    table = _table("Top authors", "author", "name", "comments", "with matches")
    for a in authors:
        table.add_row(
            str(a.author_id), Text(a.name or ""), str(a.comments), str(a.matched_comments)
        )
    console.print(table)
    table = _table("Most discussed posts", "post", "comments", "with matches", "text")
    for p in posts:
        table.add_row(
            f"wall-{p.group_id}_{p.post_id}", str(p.comments), str(p.matched_comments), Text(p.text)
        )
    console.print(table)
    if not daily:
        days = sorted({d.day for d in per_day})
        span = f" from {days[0].isoformat()} to {days[-1].isoformat()}" if days else ""
        console.print(
            f"{sum(d.comments for d in per_day)} comment(s) on {len(days)} day(s){span}, "
            f"{sum(m.matches for m in matches)} match(es); --daily prints them day by day",
            markup=False,
        )
        return
    table = _table("Comments per day", "day", "group", "comments")
    for d in per_day:
        table.add_row(d.day.isoformat(), str(d.group_id), str(d.comments))
    console.print(table)
    table = _table("Matches per day", "day", "matches", "comments")
    for m in matches:
        table.add_row(m.day.isoformat(), str(m.matches), str(m.comments))
    console.print(table)
