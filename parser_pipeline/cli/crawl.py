"""`vkpipe crawl`: crawl groups now, in this process, with a progress bar and a summary table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.crawl.run import CrawlClient, CrawlReport, crawl_groups
from parser_pipeline.services import open_engine, vk_client
from parser_pipeline.settings import Settings
from parser_pipeline.store import groups as group_store


def run_crawl(
    engine: Engine,
    client: CrawlClient,
    settings: Settings,
    group_rows: Sequence[Any],
    *,
    full: bool = False,
) -> CrawlReport:
    """Crawl with a live progress display (groups, posts, comments, requests)."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:>8.0f}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        posts = progress.add_task("posts listed", total=None)
        read = progress.add_task("posts read", total=None)
        comments = progress.add_task("comments", total=None)
        requests = progress.add_task("VK requests", total=None)

        def on_progress(stage: str, counts: Mapping[str, int]) -> None:
            if stage == "wall":
                progress.advance(posts, counts["posts"])
            else:
                progress.advance(read, counts["posts"])
                progress.advance(comments, counts["comments"])
                progress.update(requests, completed=counts["requests"])

        return crawl_groups(
            engine,
            client,
            group_rows,
            full_verify_every=settings.full_verify_every,
            force_full_verify=full,
            on_progress=on_progress,
        )


def print_report(report: CrawlReport) -> None:
    table = Table("group", "status", "posts", "read", "comments", "changed", "deleted", "requests")
    notes: list[str] = []
    for g in report.groups:
        table.add_row(
            f"{g.group_id} {g.name}"[:28],
            g.status,
            str(g.posts),
            str(g.posts_fetched),
            str(g.comments),
            str(g.changed),
            str(g.deleted),
            str(g.requests),
        )
        if g.error:
            notes.append(f"{g.group_id}: {g.error}")
        elif g.skipped:
            notes.append(f"{g.group_id}: {len(g.skipped)} item(s) skipped for a permanent reason")
    console.print(table)
    for note in notes:
        console.print(f"  {note}", markup=False, highlight=False)
    console.print(f"VK requests: {report.requests}")


def crawl(
    ctx: typer.Context,
    groups: Annotated[
        list[str] | None,
        typer.Argument(help="Groups to crawl now (default: every group that is due)."),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read every comment, not only what changed.")
    ] = False,
) -> None:
    """Crawl groups in this process; exit 0 when every group was crawled or skipped for a reason."""
    settings = settings_of(ctx)
    engine = open_engine(settings)
    with engine.connect() as connection:
        if groups:
            rows = group_store.find_groups(connection, groups)
        else:
            rows = group_store.due_groups(connection, datetime.now(UTC))
    if not rows:
        console.print("no group is due; name groups to crawl them now")
        return
    with vk_client(settings) as client:
        report = run_crawl(engine, client, settings, rows, full=full)
    print_report(report)
    if not report.ok:
        raise typer.Exit(1)
