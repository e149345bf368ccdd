"""The reconciler: find work that was published but never finished, and put it back in line.

Redis may lose its queues (a restart without persistence) and a worker may die with SIGKILL; the
database still says which batches are unfinished. A batch not touched for `lost_after` goes back
to `pending`, and the dispatcher publishes it again; its calls were never settled (settling is
one transaction), so nothing is stored twice. A batch lost `MAX_BATCH_ATTEMPTS` times is given
up: its calls fail, and so do their posts, which the next crawl reads again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine, delete, select

from parser_pipeline.crawl import engine as crawl_engine
from parser_pipeline.crawl.jobs import CrawlPolicy, advance_job
from parser_pipeline.store import batches
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs, vk_calls

log = structlog.get_logger(__name__)

# A batch lost this many times is given up (a poison batch must not loop forever).
MAX_BATCH_ATTEMPTS = 5
# Finished batches are kept this long (for `celery -A workers job` and the API), then deleted.
BATCH_RETENTION = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    requeued: int
    given_up: int
    jobs_moved: int


def reconcile(
    engine: Engine, now: datetime, lost_after: timedelta, policy: CrawlPolicy
) -> ReconcileResult:
    with transaction(engine) as connection:
        requeued, given_up = batches.requeue_lost_batches(
            connection, now, lost_after, MAX_BATCH_ATTEMPTS
        )
    for batch_id in given_up:
        crawl_engine.give_up(
            engine, batch_id, f"batch lost {MAX_BATCH_ATTEMPTS} times", now, policy
        )
    moved = advance_stalled_jobs(engine, now, policy)
    if requeued or given_up or moved:
        log.warning(
            "reconcile.recovered", requeued=len(requeued), given_up=len(given_up), jobs_moved=moved
        )
    return ReconcileResult(len(requeued), len(given_up), moved)


def advance_stalled_jobs(engine: Engine, now: datetime, policy: CrawlPolicy) -> int:
    """Running jobs with no unfinished call: their last settle did not move them (a lost
    update); move them on now."""
    unfinished = (
        select(vk_calls.c.id)
        .where(vk_calls.c.job_id == crawl_jobs.c.id)
        .where(vk_calls.c.status.in_(("pending", "batched")))
        .exists()
    )
    with engine.connect() as connection:
        candidates = list(
            connection.execute(
                select(crawl_jobs.c.id).where(crawl_jobs.c.status == "running", ~unfinished)
            ).scalars()
        )
    moved = 0
    for job_id in candidates:
        with transaction(engine) as connection:
            if advance_job(connection, job_id, now, policy) is not None:
                moved += 1
    return moved


def cleanup(engine: Engine, now: datetime, keep: timedelta) -> int:
    """Delete finished jobs (and their reads) older than `keep`, and old batches; collected
    data is untouched."""
    with transaction(engine) as connection:
        result = connection.execute(
            delete(crawl_jobs)
            .where(crawl_jobs.c.status.not_in(UNFINISHED_JOB_STATUSES))
            .where(crawl_jobs.c.finished_at < now - keep)
        )
        batches.forget_finished_batches(connection, now - BATCH_RETENTION)
    return int(result.rowcount)


__all__ = ["ReconcileResult", "advance_stalled_jobs", "cleanup", "reconcile"]
