"""`celery -A workers crawl|jobs|job|cancel`: operators steer crawls from the celery CLI.

Registered through the `celery.commands` entry point. Like every producer they only write job
rows (the outbox); the dispatcher publishes the work, so they work even while Redis is down.
Their output is for people (tables, sentences) or, with --json, for programs; never a repr.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from celery.bin.base import CeleryCommand
from rich.console import Console
from rich.table import Table

from parser_pipeline.errors import VkpipeError
from parser_pipeline.logging import configure_command_logging
from parser_pipeline.orchestration import requests
from parser_pipeline.services import open_engine
from parser_pipeline.store.schema import JOB_STATUSES

console = Console()
T = TypeVar("T")

# Statuses a job can be cancelled in; any other is final.
CANCELLABLE = ("queued", "running")


def quiet(ctx: click.Context) -> Any:
    """The command's engine, with log lines below WARNING kept off the operator's screen.

    Like the vkpipe command: these commands print their own results (VKPIPE_LOG_LEVEL still
    wins when it is set).
    """
    settings = ctx.obj.app.conf.vkpipe_settings
    configure_command_logging(settings)
    return open_engine(settings)


def run(action: Callable[[], T]) -> T:
    try:
        return action()
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None


def describe_skip(skip: Mapping[str, Any]) -> str:
    """One line for a skipped post or wall, as a job's details record it (crawl/verdict.py)."""
    why = str(skip.get("reason") or f"VK error {skip.get('code')}")
    if skip.get("post"):
        return f"post {skip['post']}: {why}"
    if skip.get("group_id") is not None:
        return f"wall of group {skip['group_id']}: {why}"
    return why


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _job_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "group_id": row.group_id,
        "status": row.status,
        "requested_by": row.requested_by,
        "priority": row.priority,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "posts": row.posts_count,
        "comments": row.comments_count,
        "skipped": row.skipped_count,
        "errors": row.errors_count,
        "error": row.error,
    }


@click.command(cls=CeleryCommand, help="Ask for a crawl of GROUP... now (ids or screen names).")
@click.argument("groups", nargs=-1, required=True)
@click.option("--priority", type=click.IntRange(1, 10), help="1 (low) to 10 (high).")
@click.option("--full", is_flag=True, help="Re-read every comment, not only what changed.")
@click.pass_context
def crawl(ctx: click.Context, groups: tuple[str, ...], priority: int | None, full: bool) -> None:
    engine = quiet(ctx)
    made = run(
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
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@click.pass_context
def jobs(ctx: click.Context, status: str | None, limit: int, as_json: bool) -> None:
    rows = requests.list_jobs(quiet(ctx), status=status, limit=limit)
    if as_json:
        click.echo(json.dumps([_job_json(job) for job in rows], indent=2))
        return
    table = Table("job", "group", "status", "by", "created", "posts", "comments", "errors")
    for job in rows:
        table.add_row(
            str(job.id),
            str(job.group_id),
            job.status,
            job.requested_by,
            _when(job.created_at),
            str(job.posts_count),
            str(job.comments_count),
            str(job.errors_count),
        )
    console.print(table)


@click.command(cls=CeleryCommand, help="Show one job: its stage, the posts it read, its errors.")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of text.")
@click.pass_context
def job(ctx: click.Context, job_id: int, as_json: bool) -> None:
    engine = quiet(ctx)
    row = run(lambda: requests.get_job(engine, job_id))
    progress = requests.progress_of(engine, job_id)
    skips = [describe_skip(s) for s in (row.details or {}).get("skipped", [])]
    if as_json:
        body = _job_json(row)
        body["stage"] = progress.stage
        body["posts_by_status"] = progress.reads
        body["calls_by_status"] = progress.calls
        body["failed_posts"] = [{"post": p, "error": e} for p, e in progress.failed_posts]
        body["skips"] = skips
        click.echo(json.dumps(body, indent=2))
        return
    console.print(
        f"job {row.id}: group {row.group_id}, {row.status} (by {row.requested_by}, "
        f"priority {row.priority}); posts {row.posts_count}, comments {row.comments_count}, "
        f"skipped {row.skipped_count}, errors {row.errors_count}",
        markup=False,
    )
    if row.error:
        console.print(f"error: {row.error}", markup=False)
    reads = ", ".join(f"{count} {status}" for status, count in sorted(progress.reads.items()))
    stage = f" ({progress.stage})" if progress.stage else ""
    console.print(f"posts read{stage}: {reads or 'none'}", markup=False)
    for post, error in progress.failed_posts:
        console.print(f"failed {post}: {error}", markup=False)
    for line in skips:
        console.print(f"skipped {line}", markup=False)


@click.command(cls=CeleryCommand, help="Cancel a job: queued work is skipped, running work ends.")
@click.argument("job_id", type=int)
@click.pass_context
def cancel(ctx: click.Context, job_id: int) -> None:
    engine = quiet(ctx)
    before = run(lambda: requests.get_job(engine, job_id)).status
    if before not in CANCELLABLE:
        raise click.ClickException(f"job {job_id} already ended ({before}); nothing to cancel")
    status = run(lambda: requests.cancel_job(engine, job_id, datetime.now(UTC)))
    if status != "cancelled":
        raise click.ClickException(f"job {job_id} ended ({status}) before it could be cancelled")
    console.print(f"job {job_id}: cancelled; its queued work is skipped", markup=False)
