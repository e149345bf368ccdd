"""Crawl job rows: what was asked, by whom, how far it got and how it ended."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, text, update

from parser_pipeline import metrics
from parser_pipeline.store.engine import for_update
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs
from parser_pipeline.store.writes import upsert_insert


def insert_job(
    connection: Connection,
    group_id: int,
    *,
    requested_by: str,
    priority: int,
    now: datetime,
    full_verify: bool = False,
) -> int | None:
    """Insert a queued crawl job unless the group has an unfinished one; its id, or None."""
    stmt = (
        upsert_insert(connection, crawl_jobs)
        .values(
            kind="crawl",
            group_id=group_id,
            status="queued",
            requested_by=requested_by,
            priority=priority,
            full_verify=full_verify,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["group_id"],
            # literal values: PostgreSQL matches a partial index's predicate as written
            index_where=text(
                "status IN (" + ", ".join(f"'{s}'" for s in UNFINISHED_JOB_STATUSES) + ")"
            ),
        )
        .returning(crawl_jobs.c.id)
    )
    return connection.execute(stmt).scalar_one_or_none()


def unfinished_job(connection: Connection, group_id: int) -> Row[Any] | None:
    return connection.execute(
        select(crawl_jobs).where(
            crawl_jobs.c.group_id == group_id, crawl_jobs.c.status.in_(UNFINISHED_JOB_STATUSES)
        )
    ).first()


def statuses(connection: Connection, job_ids: Sequence[int]) -> dict[int, str]:
    """Each job's status, by id."""
    rows = connection.execute(
        select(crawl_jobs.c.id, crawl_jobs.c.status).where(crawl_jobs.c.id.in_(list(job_ids)))
    )
    return {int(r.id): str(r.status) for r in rows}


def touch(connection: Connection, job_ids: Sequence[int], now: datetime) -> None:
    """A runner's heartbeat: its jobs are carried, nobody may take them over."""
    connection.execute(
        update(crawl_jobs).where(crawl_jobs.c.id.in_(list(job_ids))).values(updated_at=now)
    )


def lock_job(connection: Connection, job_id: int) -> Row[Any] | None:
    """The job row, locked so that concurrent batches decide its stages and end one at a time."""
    query = for_update(connection, select(crawl_jobs).where(crawl_jobs.c.id == job_id))
    return connection.execute(query).first()


def start_job(
    connection: Connection, job_id: int, now: datetime, *, full_verify: bool, runner: str
) -> bool:
    """queued -> running: the listing begins. False when someone else started it first."""
    result = connection.execute(
        update(crawl_jobs)
        .where(crawl_jobs.c.id == job_id, crawl_jobs.c.status == "queued")
        .values(
            status="running",
            stage="listing",
            started_at=now,
            updated_at=now,
            full_verify=full_verify,
            runner=runner,
            # A job the in-process runner starts was never dispatched: it is now.
            dispatched_at=func.coalesce(crawl_jobs.c.dispatched_at, now),
        )
    )
    return result.rowcount == 1


def set_stage(connection: Connection, job_id: int, stage: str, now: datetime) -> None:
    connection.execute(
        update(crawl_jobs).where(crawl_jobs.c.id == job_id).values(stage=stage, updated_at=now)
    )


def add_progress(
    connection: Connection, job_id: int, counters: Mapping[str, int], now: datetime | None = None
) -> None:
    """Add to a job's progress counters (atomically, so concurrent batches never lose a count)."""
    values: dict[str, Any] = {
        name: crawl_jobs.c[name] + value for name, value in counters.items() if value
    }
    if now is not None:
        values["updated_at"] = now
    if values:
        connection.execute(update(crawl_jobs).where(crawl_jobs.c.id == job_id).values(**values))


def finish_job(
    connection: Connection,
    job_id: int,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    details: Any = None,
    counters: Mapping[str, Any] | None = None,
) -> None:
    """End a job: its status, error line, skipped items and final counters."""
    created = connection.execute(
        update(crawl_jobs)
        .where(crawl_jobs.c.id == job_id)
        .values(
            status=status,
            stage=None,
            finished_at=now,
            updated_at=now,
            error=error,
            details=details,
            **dict(counters or {}),
        )
        .returning(crawl_jobs.c.created_at)
    ).scalar_one_or_none()
    if created is not None:
        metrics.JOB_DURATION.labels(status).observe(max(0.0, (now - created).total_seconds()))
