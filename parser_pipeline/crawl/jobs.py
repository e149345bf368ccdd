"""A crawl job's life, the same in both runners: begin, list, check, read, end with one verdict.

    queued ──begin──► running/listing ──► running/checking ──► running/reading ──► succeeded
                      (wall.get pages)    (wall.getById)       (comment pages)     or failed
    any unfinished state ──cancel──► cancelled

A stage ends when its last call is answered (the engine calls `advance_job` under the job's
row lock after every batch); the next stage is planned then, from what the store holds now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Row, select

from parser_pipeline.constants import VK_WALL_GET_BY_ID_MAX_POSTS
from parser_pipeline.crawl import calls
from parser_pipeline.crawl.planning import (
    is_full_verify,
    oldest_wanted,
    plan_checks,
    plan_reads,
)
from parser_pipeline.crawl.verdict import Failure, JobTally, job_verdict
from parser_pipeline.records import StoredPost
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store import pool
from parser_pipeline.store.reads import stored_posts
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs, vk_groups
from parser_pipeline.tiers import DEFAULT_TIERS, Tier

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CrawlPolicy:
    """How crawls read: post-age tiers, every how many crawls a full verification comes."""

    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    full_verify_every: int = 0


@dataclass(frozen=True, slots=True)
class JobEnded:
    job_id: int
    group_id: int | None
    status: str


def _group(connection: Connection, group_id: int | None) -> Row[Any] | None:
    if group_id is None:
        return None
    return connection.execute(select(vk_groups).where(vk_groups.c.id == group_id)).first()


def _cutoff(job: Row[Any], group: Row[Any]) -> datetime | None:
    return oldest_wanted(job.started_at, group.max_post_age_days)


def begin_job(
    connection: Connection,
    job_id: int,
    now: datetime,
    policy: CrawlPolicy,
    *,
    runner: str,
    full_verify: bool | None = None,
) -> JobEnded | None:
    """Start a queued job: its first wall page goes into the pool. Returns how it ended when it
    could not start (its group was removed)."""
    job = job_store.lock_job(connection, job_id)
    if job is None or job.status != "queued":
        return None
    group = _group(connection, job.group_id)
    verify = bool(
        full_verify
        if full_verify is not None
        else job.full_verify
        or (group is not None and is_full_verify(group.crawls_count, policy.full_verify_every))
    )
    if not job_store.start_job(connection, job_id, now, full_verify=verify, runner=runner):
        return None  # another dispatcher started it (SQLite has no row lock to wait on)
    if group is None:
        message = f"group {job.group_id} is no longer monitored"
        job_store.finish_job(connection, job_id, "failed", now, error=message)
        return JobEnded(job_id, job.group_id, "failed")
    owner_id = -group.id
    pool.add_calls(
        connection,
        [
            {
                "job_id": job_id,
                "kind": calls.WALL,
                "method": calls.METHOD_OF_KIND[calls.WALL],
                "owner_id": owner_id,
                "post_id": None,
                "params": calls.wall_params(owner_id, 0),
                "priority": job.priority,
            }
        ],
        now,
    )
    log.info("crawl.job_started", job_id=job_id, group_id=group.id, full_verify=verify)
    return None


def _failures(rows: Sequence[Row[Any]]) -> list[Failure]:
    failures: list[Failure] = []
    for row in rows:
        info = row.result or {}
        failures.append(
            Failure(
                "",
                row.error or "failed",
                info.get("code"),
                bool(info.get("permanent")),
            )
        )
    return failures


def _posts(connection: Connection, group: Row[Any]) -> list[StoredPost]:
    return stored_posts(connection, -group.id)


def advance_job(
    connection: Connection, job_id: int, now: datetime, policy: CrawlPolicy
) -> JobEnded | None:
    """Move a running job on when its current stage's calls are all answered; how it ended."""
    job = job_store.lock_job(connection, job_id)
    if job is None or job.status != "running":
        return None
    group = _group(connection, job.group_id)
    if group is None:
        return close_job(connection, job, now, removed=True)
    stage = job.stage
    if stage == "listing":
        if pool.unfinished_calls(connection, job_id, [calls.WALL]):
            return None
        walls = pool.job_calls(connection, job_id, [calls.WALL])
        failed = [w for w in walls if w.status == "failed"]
        if failed:
            return close_job(connection, job, now)  # nothing is known; the next crawl lists again
        newest = [w.result.get("newest") for w in walls if w.result and w.result.get("newest")]
        if newest:
            group_store.set_wall_listed(
                connection, group.id, max(map(datetime.fromisoformat, newest))
            )
        keys = plan_checks(
            _posts(connection, group),
            now=now,
            since=job.started_at,
            tiers=policy.tiers,
            cutoff=_cutoff(job, group),
            everything=job.full_verify,
        )
        _add_checks(connection, job, keys, now)
        job_store.set_stage(connection, job_id, "checking", now)
        stage = "checking"
    if stage == "checking":
        if pool.unfinished_calls(connection, job_id, [calls.CHECK]):
            return None
        if any(c.status == "failed" for c in pool.job_calls(connection, job_id, [calls.CHECK])):
            return close_job(connection, job, now)
        reads = plan_reads(
            _posts(connection, group),
            now=now,
            since=job.started_at,
            tiers=policy.tiers,
            full_verify=job.full_verify,
            cutoff=_cutoff(job, group),
        )
        _add_reads(connection, job, reads, now)
        job_store.set_stage(connection, job_id, "reading", now)
        stage = "reading"
    if pool.read_counts(connection, job_id).get("reading", 0):
        return None
    return close_job(connection, job, now)


def _add_checks(
    connection: Connection, job: Row[Any], keys: list[tuple[int, int]], now: datetime
) -> None:
    rows = []
    for start in range(0, len(keys), VK_WALL_GET_BY_ID_MAX_POSTS):
        chunk = keys[start : start + VK_WALL_GET_BY_ID_MAX_POSTS]
        rows.append(
            {
                "job_id": job.id,
                "kind": calls.CHECK,
                "method": calls.METHOD_OF_KIND[calls.CHECK],
                "owner_id": chunk[0][0],
                "post_id": None,
                "params": calls.check_params(chunk),
                "priority": job.priority,
            }
        )
    pool.add_calls(connection, rows, now)


def _add_reads(connection: Connection, job: Row[Any], reads: Sequence[Any], now: datetime) -> None:
    pool.add_reads(
        connection,
        job.id,
        [
            {
                "owner_id": r.owner_id,
                "post_id": r.post_id,
                "comments_count": r.comments_count,
                "verify": r.verify,
            }
            for r in reads
        ],
    )
    pool.add_calls(
        connection,
        [
            {
                "job_id": job.id,
                "kind": calls.TOP,
                "method": calls.METHOD_OF_KIND[calls.TOP],
                "owner_id": r.owner_id,
                "post_id": r.post_id,
                "params": calls.top_params(r.owner_id, r.post_id, 0),
                "priority": job.priority,
            }
            for r in reads
        ],
        now,
    )


def tally(connection: Connection, job: Row[Any]) -> JobTally:
    """What the job's calls and reads came to, for the verdict."""
    listing = [
        c for c in pool.job_calls(connection, job.id, [calls.WALL, calls.CHECK], status="failed")
    ]
    reads = pool.job_reads(connection, job.id)
    failed = [r for r in reads if r.status == "failed"]
    skipped = [r for r in reads if r.status == "skipped" and r.error]
    return JobTally(
        group_id=job.group_id,
        listing_failures=_failures(listing),
        read_failures=[
            Failure(f"wall{r.owner_id}_{r.post_id}", r.error or "failed") for r in failed
        ],
        read_skips=[Failure(f"wall{r.owner_id}_{r.post_id}", r.error or "") for r in skipped],
    )


def close_job(
    connection: Connection, job: Row[Any], now: datetime, *, removed: bool = False
) -> JobEnded:
    """End a job with its verdict, schedule its group's next crawl, and empty its calls."""
    if removed:
        verdict_status, error = "failed", f"group {job.group_id} is no longer monitored"
        job_store.finish_job(connection, job.id, verdict_status, now, error=error)
        pool.drop_calls(connection, job.id)
        return JobEnded(job.id, job.group_id, verdict_status)
    verdict = job_verdict(tally(connection, job))
    requests, by_method = pool.request_shares(connection, job.id)
    skipped_count = len(verdict.skipped)
    job_store.finish_job(
        connection,
        job.id,
        verdict.status,
        now,
        error=verdict.error,
        details=verdict.details,
        counters={
            "requests_count": round(requests),
            "errors_count": verdict.errors_count,
            "skipped_count": skipped_count,
            "calls": by_method,
        },
    )
    if job.group_id is not None:
        group_store.record_crawl(
            connection,
            job.group_id,
            now,
            error=verdict.group_error,
            error_code=verdict.group_error_code,
        )
    pool.drop_calls(connection, job.id)
    log.info(
        "crawl.job_finished",
        job_id=job.id,
        group_id=job.group_id,
        status=verdict.status,
        error=verdict.error,
    )
    return JobEnded(job.id, job.group_id, verdict.status)


def cancel_job(connection: Connection, job_id: int, now: datetime) -> str | None:
    """Cancel an unfinished job: its pending calls go, reads not finished are skipped; calls
    already in a batch are answered and dropped. None when the job does not exist; else the
    status it has now (an ended job keeps its own)."""
    job = job_store.lock_job(connection, job_id)
    if job is None:
        return None
    if job.status not in UNFINISHED_JOB_STATUSES:
        return str(job.status)
    pool.drop_calls(connection, job_id, pending_only=True)
    pool.skip_reading(connection, job_id, "job cancelled")
    job_store.finish_job(connection, job_id, "cancelled", now, error="cancelled by request")
    return "cancelled"


def running_job_ids(connection: Connection, job_ids: Sequence[int]) -> set[int]:
    rows = connection.execute(
        select(crawl_jobs.c.id).where(
            crawl_jobs.c.id.in_(list(job_ids)), crawl_jobs.c.status == "running"
        )
    )
    return set(rows.scalars())
