"""Crawl groups in-process (the embedded mode): list walls, plan, fetch comments, store batches."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import Engine

from parser_pipeline.crawl.comments import CallsRunner, CommentsFetcher, CompletedPost
from parser_pipeline.crawl.planning import PostFetch, is_full_verify, oldest_wanted
from parser_pipeline.crawl.steps import read_stored, skip_entry, store_listing
from parser_pipeline.crawl.wall import WallListing, WallTarget, list_walls
from parser_pipeline.errors import VkPermanentError
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store.batches import store_completed_posts
from parser_pipeline.store.engine import transaction

log = structlog.get_logger(__name__)


class CrawlClient(CallsRunner, Protocol):
    @property
    def counters(self) -> Any: ...


@dataclass(slots=True)
class GroupOutcome:
    """How one group's crawl went; `status` is the job's final status."""

    group_id: int
    name: str
    job_id: int
    posts: int = 0
    posts_fetched: int = 0
    comments: int = 0
    changed: int = 0
    deleted: int = 0
    calls: int = 0
    requests: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    failed_posts: int = 0
    status: str = "running"


@dataclass(slots=True)
class CrawlReport:
    groups: list[GroupOutcome]
    requests: int
    full_verify: bool = False

    @property
    def ok(self) -> bool:
        """Every group crawled, or skipped for a recorded permanent reason."""
        return all(g.status == "succeeded" for g in self.groups)


ProgressHook = Callable[[str, Mapping[str, int]], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _total_requests(client: CrawlClient) -> int:
    snapshot = client.counters.snapshot()
    return int(sum(snapshot.get("requests_by_method", {}).values()))


def crawl_groups(
    engine: Engine,
    client: CrawlClient,
    group_rows: Sequence[Any],
    *,
    full_verify_every: int = 0,
    force_full_verify: bool = False,
    requested_by: str = "cli",
    on_progress: ProgressHook | None = None,
) -> CrawlReport:
    """Crawl the given stored groups completely, packing calls across all of them."""
    progress = on_progress or (lambda _stage, _counts: None)
    started_requests = _total_requests(client)
    now = _now()
    verify = {
        g.id: force_full_verify or is_full_verify(g.crawls_count, full_verify_every)
        for g in group_rows
    }
    outcomes: dict[int, GroupOutcome] = {}
    with transaction(engine) as connection:
        for g in group_rows:
            job_id = job_store.create_job(
                connection,
                g.id,
                requested_by=requested_by,
                priority=g.priority,
                full_verify=verify[g.id],
                status="running",
                now=now,
            )
            outcomes[g.id] = GroupOutcome(g.id, g.name or str(g.id), job_id)
    log.info("crawl.started", groups=len(group_rows))

    targets = [WallTarget(g.id, oldest_wanted(now, g.max_post_age_days)) for g in group_rows]
    listings = list_walls(client, targets)
    plans: dict[int, list[PostFetch]] = {}
    cutoffs = {t.group_id: t.cutoff for t in targets}
    for listing in listings:
        outcome = outcomes[listing.group_id]
        if listing.error is not None:
            outcome.error = str(listing.error)
            plans[listing.group_id] = []
            continue
        plans[listing.group_id] = store_listing(
            engine,
            listing,
            outcome.job_id,
            full_verify=verify[listing.group_id],
            cutoff=cutoffs[listing.group_id],
            now=_now(),
        )
        outcome.posts = len(listing.posts)
        progress("wall", {"posts": len(listing.posts)})

    by_post: dict[tuple[int, int], GroupOutcome] = {
        (p.owner_id, p.post_id): outcomes[gid] for gid, posts in plans.items() for p in posts
    }
    report = CrawlReport(list(outcomes.values()), 0, full_verify=any(verify.values()))

    def on_complete(completed: list[CompletedPost]) -> None:
        with transaction(engine) as connection:
            stored = store_completed_posts(connection, completed, _now())
            per_job: dict[int, dict[str, int]] = {}
            for post in completed:
                outcome = by_post[(post.target.owner_id, post.target.post_id)]
                outcome.posts_fetched += 1
                outcome.comments += len(post.comments)
                counts = per_job.setdefault(
                    outcome.job_id, {"comments_count": 0, "skipped_count": 0}
                )
                counts["comments_count"] += len(post.comments)
                if post.error is not None:
                    counts["skipped_count"] += 1
                    outcome.skipped.append(skip_entry(post.target, post.error))
            for job_id, counts in per_job.items():
                job_store.add_progress(connection, job_id, counts)
        for owner_id, _ in stored.changed:
            outcomes[-owner_id].changed += 1
        for owner_id, deleted in stored.deleted_by_owner.items():
            outcomes[-owner_id].deleted += deleted
        progress(
            "comments",
            {
                "posts": len(completed),
                "comments": stored.comments_seen,
                "requests": _total_requests(client) - started_requests,
            },
        )

    all_posts = [p for gid in plans for p in plans[gid]]
    fetcher = CommentsFetcher(client, on_complete)
    tally = fetcher.run(all_posts, lambda batch: read_stored(engine, batch))
    for target, error in tally.failures:
        outcome = outcomes[-target.owner_id]
        outcome.failed_posts += 1
        outcome.error = outcome.error or str(error)

    report.requests = _total_requests(client) - started_requests
    _finish(engine, report, listings, tally.calls_by_owner)
    return report


def _finish(
    engine: Engine,
    report: CrawlReport,
    listings: Sequence[WallListing],
    comment_calls: Mapping[int, int],
) -> None:
    """Close every job and schedule every group's next crawl."""
    now = _now()
    errors = {listing.group_id: listing.error for listing in listings}
    calls = {w.group_id: w.calls + comment_calls.get(w.owner_id, 0) for w in listings}
    all_calls = sum(calls.values())
    with transaction(engine) as connection:
        for outcome in report.groups:
            error = errors.get(outcome.group_id)
            # Shared executes carry calls of several groups: a job's requests are its share.
            outcome.calls = calls.get(outcome.group_id, 0)
            outcome.requests = (
                round(report.requests * outcome.calls / all_calls) if all_calls else 0
            )
            if isinstance(error, VkPermanentError):
                outcome.status = "succeeded"
                outcome.skipped.append(
                    {"group_id": outcome.group_id, "code": error.code, "reason": error.vk_message}
                )
            elif error is not None or outcome.failed_posts:
                outcome.status = "failed"
            else:
                outcome.status = "succeeded"
            job_store.add_progress(
                connection,
                outcome.job_id,
                {
                    "requests_count": outcome.requests,
                    "errors_count": outcome.failed_posts + (1 if error is not None else 0),
                },
            )
            job_store.finish_job(
                connection,
                outcome.job_id,
                outcome.status,
                now,
                error=outcome.error,
                details={"skipped": outcome.skipped} if outcome.skipped else None,
            )
            group_store.record_crawl(
                connection,
                outcome.group_id,
                now,
                error=outcome.error,
                error_code=error.code if error is not None else None,
            )
            log.info(
                "crawl.group_done",
                group_id=outcome.group_id,
                status=outcome.status,
                posts=outcome.posts,
                comments=outcome.comments,
                error=outcome.error,
            )
