"""Ask for work and look at it: crawl requests (the outbox), cancellation, job listings.

Producers (the CLI with a broker, the celery subcommands, the HTTP API) only write rows here;
the dispatcher starts them. A request survives a Redis outage and needs no broker at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, func, select

from parser_pipeline.crawl import jobs as crawl_jobs_life
from parser_pipeline.errors import NotFoundError
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store import pool
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.names import check_status
from parser_pipeline.store.schema import JOB_STATUSES, crawl_jobs, vk_calls


@dataclass(frozen=True, slots=True)
class CrawlRequest:
    group_id: int
    job_id: int
    created: bool  # False: the group already had an unfinished job, which is returned


def request_crawl(
    engine: Engine,
    refs: Sequence[str],
    *,
    requested_by: str,
    priority: int | None = None,
    full_verify: bool = False,
    now: datetime,
) -> list[CrawlRequest]:
    """A queued job for each named group, or its unfinished job if it has one already."""
    requests: list[CrawlRequest] = []
    with transaction(engine) as connection:
        for group in group_store.find_groups(connection, refs):
            job_id = job_store.insert_job(
                connection,
                group.id,
                requested_by=requested_by,
                priority=priority or group.priority,
                now=now,
                full_verify=full_verify,
            )
            if job_id is not None:
                requests.append(CrawlRequest(group.id, job_id, True))
                continue
            existing = job_store.unfinished_job(connection, group.id)
            assert existing is not None, "the unique index refused the job for this one"
            requests.append(CrawlRequest(group.id, existing.id, False))
    return requests


def get_job(engine: Engine, job_id: int) -> Row[Any]:
    with engine.connect() as connection:
        job = connection.execute(select(crawl_jobs).where(crawl_jobs.c.id == job_id)).first()
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist; list jobs with `celery -A workers jobs`")
    return job


def list_jobs(engine: Engine, *, status: str | None = None, limit: int = 20) -> list[Row[Any]]:
    if status is not None:
        check_status(status, JOB_STATUSES, "crawl job")
    query = select(crawl_jobs).order_by(crawl_jobs.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(crawl_jobs.c.status == status)
    with engine.connect() as connection:
        return list(connection.execute(query))


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where a job is: its stage, its posts being read by status, its calls by status, and the
    posts that failed (with why)."""

    stage: str | None
    reads: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    failed_posts: list[tuple[str, str]] = field(default_factory=list)


def progress_of(engine: Engine, job_id: int) -> JobProgress:
    with engine.connect() as connection:
        job = connection.execute(
            select(crawl_jobs.c.stage).where(crawl_jobs.c.id == job_id)
        ).first()
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        calls = connection.execute(
            select(vk_calls.c.status, func.count())
            .where(vk_calls.c.job_id == job_id)
            .group_by(vk_calls.c.status)
        )
        failed = pool.job_reads(connection, job_id, status="failed")
        return JobProgress(
            stage=job.stage,
            reads=pool.read_counts(connection, job_id),
            calls={str(status): int(count) for status, count in calls},
            failed_posts=[(f"wall{r.owner_id}_{r.post_id}", r.error or "") for r in failed],
        )


def cancel_job(engine: Engine, job_id: int, now: datetime) -> str:
    """Cancel a job: waiting calls are dropped, posts not read are skipped; returns the status
    the job has now (an ended job keeps its own)."""
    with transaction(engine) as connection:
        status = crawl_jobs_life.cancel_job(connection, job_id, now)
    if status is None:
        raise NotFoundError(f"job {job_id} does not exist")
    return status
