"""`celery -A workers export`: ask the export workers for a file (writes a queued export job).

Registered through the `celery.commands` entry point. Like every producer it only writes a job
row (the outbox); the dispatcher publishes it to the `export` queue, so it works while Redis is
down. PATH is on the export worker's file system.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from celery.bin.base import CeleryCommand
from rich.console import Console

from parser_pipeline.errors import VkpipeError
from parser_pipeline.export.filters import ExportOptions
from parser_pipeline.export.jobs import request_export
from parser_pipeline.export.options import build_filters
from parser_pipeline.store.comment_filter import DELETED_MODES
from parser_pipeline.store.names import EXPORT_FORMATS
from workers.commands import quiet

console = Console()


@click.command(cls=CeleryCommand, help="Queue an export to PATH on the export workers.")
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True, help="File format."
)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="File path.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--excel", is_flag=True, help="CSV for Excel: UTF-8 with a BOM, `;`.")
@click.option("--group", "groups", multiple=True, help="Group id or screen name; repeatable.")
@click.option("--since", help="From this ISO date or date-time (inclusive, UTC).")
@click.option("--until", help="To this ISO date (whole day) or date-time (exclusive).")
@click.option("--keyword", "keywords", multiple=True, help="Keyword phrase; repeatable.")
@click.option("--keyword-id", "keyword_ids", type=int, multiple=True, help="Keyword id.")
@click.option("--category", "categories", multiple=True, help="Keyword category; repeatable.")
@click.option("--matched-only", is_flag=True, help="Only comments with a keyword match.")
@click.option("--author", "authors", type=int, multiple=True, help="Author VK id; repeatable.")
@click.option("--deleted", type=click.Choice(DELETED_MODES), default="include", show_default=True)
@click.pass_context
def export(
    ctx: click.Context,
    fmt: str,
    out: Path,
    force: bool,
    excel: bool,
    groups: tuple[str, ...],
    since: str | None,
    until: str | None,
    keywords: tuple[str, ...],
    keyword_ids: tuple[int, ...],
    categories: tuple[str, ...],
    matched_only: bool,
    authors: tuple[int, ...],
    deleted: str,
) -> None:
    engine = quiet(ctx)
    try:
        filters = build_filters(
            engine,
            groups=groups,
            since=since,
            until=until,
            keywords=keywords,
            keyword_ids=keyword_ids,
            categories=categories,
            matched_only=matched_only,
            authors=authors,
            deleted=deleted,
        )
        job_id = request_export(
            engine,
            filters,
            fmt,
            out.absolute(),
            options=ExportOptions(excel=excel, force=force),
            requested_by="cli",
            now=datetime.now(UTC),
        )
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    console.print(
        f"export job {job_id} queued: {fmt} to {out.absolute()}", markup=False, soft_wrap=True
    )
