"""`vkpipe analyze` (match stored comments, in this process) and `vkpipe stats` (tables)."""

from __future__ import annotations

from datetime import date, datetime
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
from parser_pipeline.cli.base import EXIT_USAGE, console, fail, settings_of
from parser_pipeline.services import open_engine
from parser_pipeline.store import groups as group_store

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


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        fail(f"{option} must be a date as YYYY-MM-DD, not {value!r}", EXIT_USAGE)


def _table(title: str, *headers: str) -> Table:
    return Table(*headers, title=title, title_justify="left")


def stats(
    ctx: typer.Context,
    group: Annotated[
        str | None, typer.Option("--group", "-g", help="One group: its id or screen name.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="First day (YYYY-MM-DD, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last day (YYYY-MM-DD, UTC).")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=1000, help="Rows of each top table.")
    ] = analysis_stats.DEFAULT_TOP,
    daily: Annotated[
        bool,
        typer.Option("--daily", help="Also print comments and matches per day (one row a day)."),
    ] = False,
) -> None:
    """Summaries first (top keywords, categories, authors, posts), then counts per day.

    The per-day rows can be thousands; without --daily one line sums them up.
    """
    first, last = _day(since, "--since"), _day(until, "--until")
    if first and last and first > last:
        fail("--since is after --until", EXIT_USAGE)
    engine = open_engine(settings_of(ctx))
    with engine.connect() as connection:
        group_id = group_store.find_groups(connection, [group])[0].id if group else None
        f = analysis_stats.StatsFilter(group_id, first, last)
        per_day = analysis_stats.comments_per_day(connection, f)
        keywords = analysis_stats.top_keywords(connection, f, top)
        categories = analysis_stats.top_categories(connection, f, top)
        authors = analysis_stats.top_authors(connection, f, top)
        posts = analysis_stats.top_posts(connection, f, top)
        matches = analysis_stats.matches_per_day(connection, f)

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
