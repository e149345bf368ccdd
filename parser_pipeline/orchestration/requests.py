"""Ask for work and look at it: crawl requests (the outbox), cancellation, job listings.

Producers (the CLI with a broker, the celery subcommands, the HTTP API) only write rows here;
the dispatcher publishes them. A request survives a Redis outage and needs no broker at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select, update

from parser_pipeline.errors import NotFoundError
from parser_pipeline.orchestration.dispatch import insert_job
from parser_pipeline.orchestration.work import job_items, skip_unfinished
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import JOB_STATUSES, crawl_jobs


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
            job_id = insert_job(
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
            existing = connection.execute(
                select(crawl_jobs.c.id).where(
                    crawl_jobs.c.group_id == group.id,
                    crawl_jobs.c.status.in_(("queued", "running")),
                )
            ).scalar_one()
            requests.append(CrawlRequest(group.id, existing, False))
    return requests


def get_job(engine: Engine, job_id: int) -> Row[Any]:
    with engine.connect() as connection:
        job = connection.execute(select(crawl_jobs).where(crawl_jobs.c.id == job_id)).first()
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist; list jobs with `celery -A workers jobs`")
    return job


def list_jobs(engine: Engine, *, status: str | None = None, limit: int = 20) -> list[Row[Any]]:
    if status is not None and status not in JOB_STATUSES:
        raise ValueError(f"unknown status {status!r}; use one of {', '.join(JOB_STATUSES)}")
    query = select(crawl_jobs).order_by(crawl_jobs.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(crawl_jobs.c.status == status)
    with engine.connect() as connection:
        return list(connection.execute(query))


def items_of(engine: Engine, job_id: int) -> list[Row[Any]]:
    with engine.connect() as connection:
        return job_items(connection, job_id)


def cancel_job(engine: Engine, job_id: int, now: datetime) -> str:
    """Cancel a job: queued work is skipped, running batches finish; returns the final status."""
    with transaction(engine) as connection:
        job = connection.execute(
            select(crawl_jobs).where(crawl_jobs.c.id == job_id).with_for_update()
        ).first()
        if job is None:
            raise NotFoundError(f"job {job_id} does not exist")
        if job.status not in ("queued", "running"):
            return str(job.status)
        skip_unfinished(connection, job_id, now)
        connection.execute(
            update(crawl_jobs)
            .where(crawl_jobs.c.id == job_id)
            .values(status="cancelled", finished_at=now, error="cancelled by request")
        )
    return "cancelled"
