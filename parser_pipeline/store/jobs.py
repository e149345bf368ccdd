"""Crawl job rows: what was asked, by whom, how far it got and how it ended."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from parser_pipeline import metrics
from parser_pipeline.store.schema import crawl_jobs

COUNTERS = ("posts_count", "comments_count", "requests_count", "errors_count", "skipped_count")


def create_job(
    connection: Connection,
    group_id: int,
    *,
    requested_by: str,
    priority: int = 5,
    full_verify: bool = False,
    status: str = "queued",
    now: datetime,
) -> int:
    values: dict[str, Any] = {
        "kind": "crawl",
        "group_id": group_id,
        "requested_by": requested_by,
        "priority": priority,
        "full_verify": full_verify,
        "status": status,
        "created_at": now,
    }
    if status == "running":
        values["started_at"] = now
    job_id = connection.execute(insert(crawl_jobs).values(**values).returning(crawl_jobs.c.id))
    return int(job_id.scalar_one())


def add_progress(connection: Connection, job_id: int, counters: Mapping[str, int]) -> None:
    """Add to a job's progress counters (atomically, so concurrent batches never lose a count)."""
    increments = {name: crawl_jobs.c[name] + value for name, value in counters.items() if value}
    if increments:
        connection.execute(update(crawl_jobs).where(crawl_jobs.c.id == job_id).values(**increments))


def finish_job(
    connection: Connection,
    job_id: int,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    details: Any = None,
) -> None:
    created = connection.execute(
        update(crawl_jobs)
        .where(crawl_jobs.c.id == job_id)
        .values(status=status, finished_at=now, error=error, details=details)
        .returning(crawl_jobs.c.created_at)
    ).scalar_one_or_none()
    if created is not None:
        metrics.JOB_DURATION.labels(status).observe(max(0.0, (now - created).total_seconds()))


def get_job(connection: Connection, job_id: int) -> Row[Any] | None:
    return connection.execute(select(crawl_jobs).where(crawl_jobs.c.id == job_id)).first()


def start_job(connection: Connection, job_id: int, now: datetime) -> None:
    connection.execute(
        update(crawl_jobs)
        .where(crawl_jobs.c.id == job_id, crawl_jobs.c.status == "queued")
        .values(status="running", started_at=now)
    )
