"""`celery -A workers crawl|jobs|job|cancel`: operators steer crawls from the celery CLI.

Registered through the `celery.commands` entry point. Like every producer they only write job
rows (the outbox); the dispatcher publishes the work, so they work even while Redis is down.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from celery.bin.base import CeleryCommand
from rich.console import Console
from rich.table import Table

from parser_pipeline.errors import VkpipeError
from parser_pipeline.orchestration import requests
from parser_pipeline.services import open_engine
from parser_pipeline.store.schema import JOB_STATUSES

console = Console()


def _engine(ctx: click.Context) -> Any:
    return open_engine(ctx.obj.app.conf.vkpipe_settings)


def _run(action: Any) -> Any:
    try:
        return action()
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None


@click.command(cls=CeleryCommand, help="Ask for a crawl of GROUP... now (ids or screen names).")
@click.argument("groups", nargs=-1, required=True)
@click.option("--priority", type=click.IntRange(1, 10), help="1 (low) to 10 (high).")
@click.option("--full", is_flag=True, help="Re-read every comment, not only what changed.")
@click.pass_context
def crawl(ctx: click.Context, groups: tuple[str, ...], priority: int | None, full: bool) -> None:
    engine = _engine(ctx)
    made = _run(
        lambda: requests.request_crawl(
            engine,
            groups,
            requested_by="cli",
            priority=priority,
            full_verify=full,
            now=datetime.now(UTC),
        )
    )
    for request in made:
        state = "queued" if request.created else "already unfinished"
        console.print(f"group {request.group_id}: job {request.job_id} {state}")


@click.command(cls=CeleryCommand, help="List crawl jobs, newest first.")
@click.option("--status", type=click.Choice(JOB_STATUSES), help="Only jobs in this status.")
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@click.pass_context
def jobs(ctx: click.Context, status: str | None, limit: int) -> None:
    rows = requests.list_jobs(_engine(ctx), status=status, limit=limit)
    table = Table("job", "group", "status", "by", "created", "posts", "comments", "errors")
    for job in rows:
        table.add_row(
            str(job.id),
            str(job.group_id),
            job.status,
            job.requested_by,
            job.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(job.posts_count),
            str(job.comments_count),
            str(job.errors_count),
        )
    console.print(table)


@click.command(
    cls=CeleryCommand, help="Show one job: its stage, the posts it read, and its errors."
)
@click.argument("job_id", type=int)
@click.pass_context
def job(ctx: click.Context, job_id: int) -> None:
    engine = _engine(ctx)
    row = _run(lambda: requests.get_job(engine, job_id))
    console.print(
        f"job {row.id}: group {row.group_id}, {row.status} (by {row.requested_by}, "
        f"priority {row.priority}); posts {row.posts_count}, comments {row.comments_count}, "
        f"skipped {row.skipped_count}, errors {row.errors_count}",
        markup=False,
    )
    if row.error:
        console.print(f"error: {row.error}", markup=False)
    progress = requests.progress_of(engine, job_id)
    reads = ", ".join(f"{count} {status}" for status, count in sorted(progress.reads.items()))
    stage = f" ({progress.stage})" if progress.stage else ""
    console.print(f"posts read{stage}: {reads or 'none'}", markup=False)
    for post, error in progress.failed_posts:
        console.print(f"failed: {post}: {error}", markup=False)
    for skipped in (row.details or {}).get("skipped", []):
        where = skipped.get("post") or f"group {skipped.get('group_id')}"
        console.print(f"skipped: {where}: {skipped.get('reason')}", markup=False)


@click.command(cls=CeleryCommand, help="Cancel a job: queued work is skipped, running work ends.")
@click.argument("job_id", type=int)
@click.pass_context
def cancel(ctx: click.Context, job_id: int) -> None:
    engine = _engine(ctx)
    status = _run(lambda: requests.cancel_job(engine, job_id, datetime.now(UTC)))
    console.print(f"job {job_id}: {status}")
