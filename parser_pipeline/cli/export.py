"""`vkpipe export` (write a file now, in this process) and `vkpipe exports` (subscriptions)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.cli.filter_options import (
    AuthorOpt,
    CategoryOpt,
    DeletedOpt,
    GroupOpt,
    KeywordIdOpt,
    KeywordOpt,
    MatchedOpt,
    ReviewStateOpt,
    SinceOpt,
    TagOpt,
    UntilOpt,
    comment_filter_of,
)
from parser_pipeline.export import subscriptions as subs
from parser_pipeline.export.filters import ExportOptions
from parser_pipeline.export.service import count_rows
from parser_pipeline.export.service import export as run_export
from parser_pipeline.services import open_engine
from parser_pipeline.store.comment_filter import DeletedMode
from parser_pipeline.store.names import ExportFormat

FormatOpt = Annotated[ExportFormat, typer.Option("--format", "-f", help="File format.")]
ExcelOpt = Annotated[
    bool, typer.Option("--excel", help="CSV for Excel: UTF-8 with a BOM, `;` between fields.")
]


def export(
    ctx: typer.Context,
    fmt: FormatOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    excel: ExcelOpt = False,
    group: GroupOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    keyword: KeywordOpt = None,
    keyword_id: KeywordIdOpt = None,
    category: CategoryOpt = None,
    matched_only: MatchedOpt = False,
    author: AuthorOpt = None,
    deleted: DeletedOpt = DeletedMode.include,
    review_state: ReviewStateOpt = None,
    tag: TagOpt = None,
) -> None:
    """Export comments to a file now, ordered by date, with a progress bar.

    The export always runs in this process, also with VKPIPE_BROKER_URL set; to have the
    export workers write it (and record an export job), use `celery -A workers export`.
    The file appears under its name only when complete; an existing file needs --force.
    """
    engine = open_engine(settings_of(ctx))
    filters = comment_filter_of(
        engine,
        group=group,
        since=since,
        until=until,
        keyword=keyword,
        keyword_id=keyword_id,
        category=category,
        matched_only=matched_only,
        author=author,
        deleted=deleted,
        review_state=review_state,
        tag=tag,
    )
    total = count_rows(engine, filters)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"exporting {fmt.value}", total=total)
        result = run_export(
            engine,
            filters,
            fmt.value,
            out,
            force=force,
            excel=excel,
            on_progress=lambda rows: progress.update(task, completed=rows),
        )
    console.print(
        f"wrote {result.rows} rows to {result.path}", markup=False, highlight=False, soft_wrap=True
    )


exports_app = typer.Typer(
    help="Export subscriptions: files of what is new, written after each crawl of their groups.",
    no_args_is_help=True,
)


@exports_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name; it starts every file name.")],
    fmt: FormatOpt,
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Where the files go (on the export worker).")
    ],
    excel: ExcelOpt = False,
    group: GroupOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    keyword: KeywordOpt = None,
    keyword_id: KeywordIdOpt = None,
    category: CategoryOpt = None,
    matched_only: MatchedOpt = False,
    author: AuthorOpt = None,
    deleted: DeletedOpt = DeletedMode.include,
    review_state: ReviewStateOpt = None,
    tag: TagOpt = None,
) -> None:
    """Save an export that runs after every crawl of its groups (no --group: of any group).

    Each run writes NAME-<UTC time>-<job>.<format> in --dir with the comments changed or
    analyzed since the previous run; the first run writes everything the filters select.
    """
    engine = open_engine(settings_of(ctx))
    filters = comment_filter_of(
        engine,
        group=group,
        since=since,
        until=until,
        keyword=keyword,
        keyword_id=keyword_id,
        category=category,
        matched_only=matched_only,
        author=author,
        deleted=deleted,
        review_state=review_state,
        tag=tag,
    )
    directory = directory.absolute()
    subscription_id = subs.add_subscription(
        engine,
        name=name,
        fmt=fmt.value,
        directory=directory,
        filters=filters.model_copy(update={"group_ids": ()}),
        options=ExportOptions(excel=excel),
        group_ids=filters.group_ids,
        categories=filters.categories,
        now=datetime.now(UTC),
    )
    console.print(f"added export subscription {subscription_id} {name}", markup=False)
    if not directory.is_dir():
        console.print(
            f"note: {directory} does not exist here; create it before the first run",
            markup=False,
            soft_wrap=True,
        )


@exports_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Show the export subscriptions and how far each has exported."""
    engine = open_engine(settings_of(ctx))
    table = Table("id", "name", "format", "directory", "groups", "categories", "exported until")
    for s in subs.list_subscriptions(engine):
        table.add_row(
            str(s.id),
            s.name + ("" if s.is_active else " (paused)"),
            s.format + (" (excel)" if s.options.excel else ""),
            s.directory,
            ", ".join(map(str, s.group_ids)) or "all",
            ", ".join(s.categories) or "",
            s.exported_until.strftime("%Y-%m-%d %H:%M:%S") if s.exported_until else "never",
        )
    console.print(table)


@exports_app.command("remove")
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The subscription's name.")]
) -> None:
    """Delete a subscription; the files it wrote and its job records stay."""
    subs.remove_subscription(open_engine(settings_of(ctx)), name)
    console.print(f"removed export subscription {name}", markup=False)
