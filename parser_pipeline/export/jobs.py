"""Export jobs in the database: request (the outbox), publish, claim, run, finish, list.

A producer (`celery -A workers export`, the API) writes a queued row and returns; the
dispatcher publishes queued rows to the `export` queue by id (`publish_export_jobs`) and marks
them dispatched; the export task claims the row (queued -> running, once, so a duplicated
message does nothing) and runs it. Paths are on the export worker's file system.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Engine, Row, insert, select, update

from parser_pipeline.errors import ConfigError, NotFoundError, StorageError, VkpipeError
from parser_pipeline.export.filters import ExportOptions, from_stored, to_stored
from parser_pipeline.export.service import Progress, export
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import for_update, transaction
from parser_pipeline.store.names import check_status, export_format
from parser_pipeline.store.schema import EXPORT_STATUSES, UNFINISHED_JOB_STATUSES, export_jobs

log = structlog.get_logger(__name__)

# Queued export jobs published per dispatcher pass; exports are few and long, 100 is plenty.
EXPORT_JOBS_PER_PASS: Final = 100


@dataclass(frozen=True, slots=True)
class ExportJobOutcome:
    """What became of one export job; `claimed` False: another run had it (nothing done)."""

    job_id: int
    status: str
    rows: int
    path: str
    error: str | None = None
    claimed: bool = True


def insert_export_job(
    connection: Connection,
    *,
    fmt: str,
    path: str,
    filters: CommentFilter,
    options: ExportOptions,
    requested_by: str,
    now: datetime,
    status: str = "queued",
    subscription_id: int | None = None,
    api_key_id: int | None = None,
) -> int:
    export_format(fmt)
    running = status == "running"
    values: dict[str, Any] = {
        "format": fmt,
        "path": path,
        "filters": to_stored(filters, options),
        "status": status,
        "requested_by": requested_by,
        "subscription_id": subscription_id,
        "api_key_id": api_key_id,
        "created_at": now,
        # A job run in place (subscriptions) is never published.
        "dispatched_at": now if running else None,
        "started_at": now if running else None,
    }
    return int(
        connection.execute(
            insert(export_jobs).values(**values).returning(export_jobs.c.id)
        ).scalar_one()
    )


def request_export(
    engine: Engine,
    filters: CommentFilter,
    fmt: str,
    path: Path,
    *,
    options: ExportOptions | None = None,
    requested_by: str,
    api_key_id: int | None = None,
    now: datetime,
) -> int:
    """Write a queued export job (the dispatcher publishes it); its id. `api_key_id`: the API
    key that asked for it, which alone (with admin keys) may see it."""
    if not path.is_absolute():
        raise ConfigError(f"{path}: the export worker needs an absolute path")
    with transaction(engine) as connection:
        job_id = insert_export_job(
            connection,
            fmt=fmt,
            path=str(path),
            filters=filters,
            options=options or ExportOptions(),
            requested_by=requested_by,
            api_key_id=api_key_id,
            now=now,
        )
    log.info("export.job_requested", job_id=job_id, format=fmt, path=str(path))
    return job_id


def publish_export_jobs(engine: Engine, publish: Callable[[int], None], now: datetime) -> int:
    """Publish queued, not yet dispatched export jobs by id and mark them dispatched.

    The dispatcher calls it every pass. `publish` runs inside the transaction: if it raises,
    nothing is marked and the next pass tries again (a message may then go out twice; the
    task's claim makes the second one a no-op).
    """
    with transaction(engine) as connection:
        query = (
            select(export_jobs.c.id)
            .where(export_jobs.c.status == "queued", export_jobs.c.dispatched_at.is_(None))
            .order_by(export_jobs.c.id)
            .limit(EXPORT_JOBS_PER_PASS)
        )
        query = for_update(connection, query, skip_locked=True)
        job_ids = list(connection.execute(query).scalars())
        for job_id in job_ids:
            publish(job_id)
        if job_ids:
            connection.execute(
                update(export_jobs).where(export_jobs.c.id.in_(job_ids)).values(dispatched_at=now)
            )
    if job_ids:
        log.info("export.jobs_published", count=len(job_ids), job_ids=job_ids)
    return len(job_ids)


def claim_export_job(engine: Engine, job_id: int, now: datetime) -> Row[Any] | None:
    """queued -> running, once; the job row, or None if it is not queued (or does not exist)."""
    with transaction(engine) as connection:
        return connection.execute(
            update(export_jobs)
            .where(export_jobs.c.id == job_id, export_jobs.c.status == "queued")
            .values(status="running", started_at=now)
            .returning(*export_jobs.c)
        ).first()


def finish_export_job(
    engine: Engine,
    job_id: int,
    now: datetime,
    *,
    rows: int = 0,
    error: str | None = None,
) -> None:
    status = "failed" if error is not None else "succeeded"
    with transaction(engine) as connection:
        connection.execute(
            update(export_jobs)
            .where(export_jobs.c.id == job_id)
            .values(status=status, rows=rows, error=error, finished_at=now)
        )
    log.info("export.job_finished", job_id=job_id, status=status, rows=rows, error=error)


def fail_export_job(engine: Engine, job_id: int, error: str, now: datetime) -> None:
    """Give up on a job that is not finished yet (the task's retries are spent)."""
    with transaction(engine) as connection:
        connection.execute(
            update(export_jobs)
            .where(export_jobs.c.id == job_id, export_jobs.c.status.in_(UNFINISHED_JOB_STATUSES))
            .values(status="failed", error=error, finished_at=now)
        )


def run_claimed(
    engine: Engine,
    job: Row[Any],
    now: Callable[[], datetime],
    *,
    changed_since: datetime | None = None,
    skip_empty: bool = False,
    on_progress: Progress | None = None,
    requeue: bool = True,
) -> ExportJobOutcome:
    """Run a job this process owns (status running) and record how it ended.

    vkpipe's own errors (a bad path, a full disk, an unknown keyword) fail the job for good.
    StorageError (the database went away) is raised again so the task retries; the job goes
    back to queued (`requeue`) or, for a subscription's run, which the next run replaces,
    fails. Anything else is unexpected: the job fails and the error propagates.
    """
    try:
        filters, options = from_stored(job.filters)
        result = export(
            engine,
            filters,
            job.format,
            Path(job.path),
            force=options.force,
            excel=options.excel,
            on_progress=on_progress,
            changed_since=changed_since,
            skip_empty=skip_empty,
        )
    except StorageError as exc:
        if requeue:
            _requeue(engine, job.id)
        else:
            with suppress(StorageError):
                finish_export_job(engine, job.id, now(), error=str(exc))
        raise
    except VkpipeError as exc:
        finish_export_job(engine, job.id, now(), error=str(exc))
        return ExportJobOutcome(job.id, "failed", 0, job.path, str(exc))
    except Exception as exc:
        finish_export_job(engine, job.id, now(), error=f"{type(exc).__name__}: {exc}")
        raise
    finish_export_job(engine, job.id, now(), rows=result.rows)
    return ExportJobOutcome(job.id, "succeeded", result.rows, job.path)


def _requeue(engine: Engine, job_id: int) -> None:
    # If the database is still away, the lost-job check finds the row later.
    with suppress(StorageError), transaction(engine) as connection:
        connection.execute(
            update(export_jobs)
            .where(export_jobs.c.id == job_id, export_jobs.c.status == "running")
            .values(status="queued", started_at=None)
        )


def run_export_job(
    engine: Engine,
    job_id: int,
    now: Callable[[], datetime],
    *,
    on_progress: Progress | None = None,
) -> ExportJobOutcome:
    """Claim and run a queued export job; a job not queued (a duplicate message) is left alone."""
    job = claim_export_job(engine, job_id, now())
    if job is None:
        current = get_export_job(engine, job_id)
        log.info("export.job_not_claimed", job_id=job_id, status=current.status)
        return ExportJobOutcome(
            job_id, current.status, current.rows, current.path, current.error, claimed=False
        )
    return run_claimed(engine, job, now, on_progress=on_progress)


def get_export_job(engine: Engine, job_id: int, *, of_key: int | None = None) -> Row[Any]:
    """An export job; with `of_key`, only one that API key asked for (NotFoundError else)."""
    query = select(export_jobs).where(export_jobs.c.id == job_id)
    if of_key is not None:
        query = query.where(export_jobs.c.api_key_id == of_key)
    with engine.connect() as connection:
        job = connection.execute(query).first()
    if job is None:
        raise NotFoundError(f"export job {job_id} does not exist")
    return job


def list_export_jobs(
    engine: Engine, *, status: str | None = None, limit: int = 20, of_key: int | None = None
) -> list[Row[Any]]:
    """The newest export jobs; with `of_key`, only those that API key asked for."""
    query = select(export_jobs).order_by(export_jobs.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(
            export_jobs.c.status == check_status(status, EXPORT_STATUSES, "export job")
        )
    if of_key is not None:
        query = query.where(export_jobs.c.api_key_id == of_key)
    with engine.connect() as connection:
        return list(connection.execute(query))


def recover_lost_export_jobs(engine: Engine, now: datetime, lost_after: timedelta) -> int:
    """For the reconciler: publish again jobs dispatched long ago but never started; fail jobs
    running for longer than `lost_after` (their worker died; running them again could kill
    the next one the same way). The number of jobs touched."""
    cutoff = now - lost_after
    with transaction(engine) as connection:
        republished = connection.execute(
            update(export_jobs)
            .where(export_jobs.c.status == "queued", export_jobs.c.dispatched_at < cutoff)
            .values(dispatched_at=None)
        ).rowcount
        failed = connection.execute(
            update(export_jobs)
            .where(export_jobs.c.status == "running", export_jobs.c.started_at < cutoff)
            .values(
                status="failed",
                finished_at=now,
                error=f"lost: running for more than {int(lost_after.total_seconds())} s",
            )
        ).rowcount
    if republished or failed:
        log.warning("export.jobs_recovered", republished=republished, failed=failed)
    return int(republished) + int(failed)
