"""The reconciler: find work that was enqueued but never finished, and put it back in line.

Redis may lose its queues (a restart without persistence) and a worker may die with SIGKILL; the
database still says which items are unfinished. An item not touched for `lost_after` goes back to
`pending`, and the dispatcher publishes it again; idempotent stages make a second run harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine, delete, select, update

from parser_pipeline.orchestration.stages import close_job
from parser_pipeline.orchestration.work import lock_job, unfinished_items
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs, work_items

log = structlog.get_logger(__name__)

# An item lost this many times is given up (a poison message must not loop forever).
MAX_ITEM_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    requeued: int
    given_up: int
    jobs_closed: int


def reconcile(engine: Engine, now: datetime, lost_after: timedelta) -> ReconcileResult:
    stale = now - lost_after
    lost = work_items.c.status.in_(("enqueued", "running")) & (work_items.c.updated_at < stale)
    with transaction(engine) as connection:
        given_up = connection.execute(
            update(work_items)
            .where(lost, work_items.c.attempts >= MAX_ITEM_ATTEMPTS)
            .values(
                status="failed",
                error=f"lost {MAX_ITEM_ATTEMPTS} times (worker died or broker forgot it)",
                updated_at=now,
                finished_at=now,
            )
        ).rowcount
        requeued = connection.execute(
            update(work_items).where(lost).values(status="pending", updated_at=now)
        ).rowcount
    jobs_closed = close_finished_jobs(engine, now)
    if requeued or given_up or jobs_closed:
        log.warning(
            "reconcile.recovered", requeued=requeued, given_up=given_up, jobs_closed=jobs_closed
        )
    return ReconcileResult(requeued, given_up, jobs_closed)


def close_finished_jobs(engine: Engine, now: datetime) -> int:
    """Close dispatched jobs whose items are all final but which nobody closed (a lost update)."""
    open_jobs = select(crawl_jobs.c.id).where(
        crawl_jobs.c.status.in_(("queued", "running")), crawl_jobs.c.dispatched_at.is_not(None)
    )
    closed = 0
    with engine.connect() as connection:
        candidates = list(connection.execute(open_jobs).scalars())
    for job_id in candidates:
        with transaction(engine) as connection:
            job = lock_job(connection, job_id)
            if job is None or job.status not in ("queued", "running"):
                continue
            if unfinished_items(connection, job_id) == 0:
                close_job(connection, job, now)
                closed += 1
    return closed


def cleanup(engine: Engine, now: datetime, keep: timedelta) -> int:
    """Delete finished jobs (and their items) older than `keep`; collected data is untouched."""
    with transaction(engine) as connection:
        result = connection.execute(
            delete(crawl_jobs)
            .where(crawl_jobs.c.status.in_(("succeeded", "failed", "cancelled")))
            .where(crawl_jobs.c.finished_at < now - keep)
        )
    return int(result.rowcount)


__all__ = ["ReconcileResult", "cleanup", "close_finished_jobs", "reconcile"]
