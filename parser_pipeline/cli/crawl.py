"""`vkpipe crawl`: crawl groups now, in this process, with a progress bar and a summary table."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, select

from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.cli.alerts import alert_pass
from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.crawl.runner import CrawlReport, RunnerClient, crawl_groups
from parser_pipeline.export.subscriptions import run_due_subscriptions
from parser_pipeline.orchestration.requests import get_job, request_crawl
from parser_pipeline.orchestration.schedule import apply_schedule
from parser_pipeline.services import open_engine, vk_client
from parser_pipeline.settings import Settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.schema import service_heartbeats


def policy_of(settings: Settings) -> CrawlPolicy:
    return CrawlPolicy(settings.recheck_tiers, settings.full_verify_every)


def _say_waiting(waiting: Mapping[str, datetime]) -> None:
    resets = min(waiting.values()).astimezone()
    console.print(
        f"the daily VK quota of {', '.join(sorted(waiting))} is spent on every token; "
        f"waiting until {resets:%Y-%m-%d %H:%M %Z} for it to renew (Ctrl-C stops: what was "
        "read is kept, the next crawl continues)",
        markup=False,
    )


def run_crawl(
    engine: Engine,
    client: RunnerClient,
    settings: Settings,
    group_rows: Sequence[Any],
    *,
    full: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CrawlReport:
    """Crawl with a live progress display (posts read, comments, requests)."""
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:>8.0f}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        read = progress.add_task("posts read", total=None)
        comments = progress.add_task("comments", total=None)
        requests = progress.add_task("VK requests", total=None)

        def on_progress(_stage: str, counts: Mapping[str, int]) -> None:
            progress.advance(read, counts["posts"])
            progress.advance(comments, counts["comments"])
            progress.update(requests, completed=counts["requests"])

        return crawl_groups(
            engine,
            client,
            group_rows,
            policy=policy_of(settings),
            concurrency=settings.crawl_concurrency,
            clock=clock,
            on_progress=on_progress,
            on_wait=_say_waiting,
            full_verify=full,
        )


# Items skipped for a permanent reason shown per group (the job keeps the whole list).
SKIPS_SHOWN = 3


def print_report(report: CrawlReport) -> None:
    table = Table()
    headers = ("group", "status", "posts", "read", "comments", "changed", "deleted", "requests")
    for header in headers:
        table.add_column(header, no_wrap=True, overflow="ellipsis")
    notes: list[str] = []
    for line in report.not_started:
        notes.append(line)
    for g in report.groups:
        table.add_row(
            g.name[:24] or str(g.group_id),
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
        for skip in g.skipped[:SKIPS_SHOWN]:
            where = skip.get("post") or "its wall"
            notes.append(f"{g.group_id}: skipped {where}: {skip.get('reason')}")
        if len(g.skipped) > SKIPS_SHOWN:
            notes.append(f"{g.group_id}: {len(g.skipped) - SKIPS_SHOWN} more skipped")
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
    wait: Annotated[
        bool,
        typer.Option("--wait", help="With a broker: follow the jobs until they end."),
    ] = False,
) -> None:
    """Crawl groups now; exit 0 when every group was crawled or skipped for a recorded reason.

    Embedded mode (no broker): the crawl runs in this process. With VKPIPE_BROKER_URL set, job
    rows are written and the workers do the work (`--wait` follows them).
    """
    settings = settings_of(ctx)
    engine = open_engine(settings)
    if not settings.embedded:
        enqueue_and_follow(engine, settings, groups or [], full=full, wait=wait)
        return
    with vk_client(settings) as client:  # no token: one line and exit 2, before anything else
        if not groups:  # what is due follows the VK budget (effective intervals)
            tokens = len(client.pool.usable_ids())
            apply_schedule(engine, settings.vk_daily_quotas, tokens, datetime.now(UTC))
        with engine.connect() as connection:
            if groups:
                rows = group_store.find_groups(connection, groups)
            else:
                rows = group_store.due_groups(connection, datetime.now(UTC))
        if not rows:
            console.print("no group is due; name groups to crawl them now")
            return
        report = run_crawl(engine, client, settings, rows, full=full)
    print_report(report)
    # Every new or changed comment is unanalyzed now (the upsert clears the mark): no list of
    # keys is kept in memory, which a crawl of a million comments would make large.
    analyzed = analyze_comments(engine)
    console.print(
        f"analysis: {analyzed.comments} new or changed comments matched against the keywords, "
        f"{analyzed.matched_comments} with matches"
    )
    for group in report.groups:
        for outcome in run_due_subscriptions(engine, group.group_id, lambda: datetime.now(UTC)):
            detail = outcome.error or f"{outcome.rows} rows to {outcome.path}"
            console.print(f"export job {outcome.job_id} {outcome.status}: {detail}", markup=False)
    alert_pass(engine, settings)
    if not report.ok:
        raise typer.Exit(1)


# Seconds between two looks at the jobs' progress while following them (display only).
FOLLOW_POLL_SECONDS = 1.0


def _dispatcher_silence(engine: Engine, settings: Settings) -> float | None:
    """Seconds since the dispatcher last ran, when that is longer than it should be."""
    with engine.connect() as connection:
        seen = connection.execute(
            select(service_heartbeats.c.last_seen_at).where(service_heartbeats.c.name == "beat")
        ).scalar_one_or_none()
    allowed = 3 * settings.dispatch_interval_seconds + 30
    if seen is None:
        return float("inf")
    age = (datetime.now(UTC) - seen).total_seconds()
    return age if age > allowed else None


def enqueue_and_follow(
    engine: Engine, settings: Settings, refs: list[str], *, full: bool, wait: bool
) -> None:
    """Write crawl jobs (the dispatcher starts them); with `wait`, show them to the end."""
    now = datetime.now(UTC)
    if not refs:
        with engine.connect() as connection:
            refs = [str(row.id) for row in group_store.due_groups(connection, now)]
        if not refs:
            console.print("no group is due; name groups to crawl them now")
            return
    made = request_crawl(engine, refs, requested_by="cli", full_verify=full, now=now)
    for request in made:
        state = "queued" if request.created else "already unfinished"
        console.print(f"group {request.group_id}: job {request.job_id} {state}")
    if not wait:
        return
    job_ids = [r.job_id for r in made]
    warned = False
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:>8.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        finished = progress.add_task("jobs finished", total=len(job_ids))
        comments = progress.add_task("comments", total=None)
        while True:
            rows = [get_job(engine, job_id) for job_id in job_ids]
            done = [r for r in rows if r.status in ("succeeded", "failed", "cancelled")]
            progress.update(finished, completed=len(done))
            progress.update(comments, completed=sum(r.comments_count for r in rows))
            if len(done) == len(rows):
                break
            silence = _dispatcher_silence(engine, settings)
            if silence is not None and not warned:
                warned = True
                since = "never ran" if silence == float("inf") else f"last ran {silence:.0f} s ago"
                progress.console.print(
                    f"waiting, but the dispatcher {since}: nothing starts these jobs until "
                    "`vkpipe beat` (or `celery -A workers beat`) and the workers run; "
                    "Ctrl-C stops waiting, the jobs stay queued",
                    markup=False,
                )
            time.sleep(FOLLOW_POLL_SECONDS)
    table = Table("job", "group", "status", "posts", "comments", "skipped", "error")
    for r in rows:
        table.add_row(
            str(r.id),
            str(r.group_id),
            r.status,
            str(r.posts_count),
            str(r.comments_count),
            str(r.skipped_count),
            (r.error or "")[:50],
        )
    console.print(table)
    if any(r.status != "succeeded" for r in rows):
        raise typer.Exit(1)
