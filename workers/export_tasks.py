"""Celery tasks of the `export` queue: run a requested export job; run subscriptions after a crawl.

Thin like every task: ids in, one core call (`parser_pipeline.export`), a small summary out.
A database outage retries the task with backoff; a job whose retries are spent is marked failed.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import structlog
from celery import Task

from celeryconfig import MAX_RETRY_COUNTDOWN_SECONDS
from parser_pipeline.errors import StorageError
from parser_pipeline.export.jobs import fail_export_job, run_export_job
from parser_pipeline.export.subscriptions import run_due_subscriptions
from workers import runtime
from workers.app import app

log = structlog.get_logger(__name__)

# Whole-task retries while the database is unreachable; an export restarts from the first row.
EXPORT_MAX_RETRIES = 5

RUN_TASK = "vkpipe.export.run"
SUBSCRIPTIONS_TASK = "vkpipe.export.subscriptions"


def _now() -> datetime:
    return datetime.now(UTC)


class ExportJobTask(Task):  # type: ignore[misc]
    """When the task finally fails, its export job is marked failed with the reason."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        job_id = args[0] if args else kwargs.get("job_id")
        log.error("export.task_gave_up", task=self.name, job_id=job_id, error=str(exc))
        if job_id is not None:
            fail_export_job(runtime.engine(), int(job_id), str(exc), _now())


EXPORT_OPTIONS: dict[str, Any] = {
    "autoretry_for": (StorageError,),
    "retry_backoff": True,
    "retry_backoff_max": MAX_RETRY_COUNTDOWN_SECONDS,
    "retry_jitter": True,
    "max_retries": EXPORT_MAX_RETRIES,
    "ignore_result": False,
}


@app.task(name=RUN_TASK, base=ExportJobTask, **EXPORT_OPTIONS)
def run_export(job_id: int) -> dict[str, Any]:
    """Write the file of one queued export job (a duplicate message finds it claimed)."""
    return asdict(run_export_job(runtime.engine(), job_id, _now))


@app.task(name=SUBSCRIPTIONS_TASK, **EXPORT_OPTIONS)
def run_subscriptions(group_id: int) -> list[dict[str, Any]]:
    """A crawl of the group finished: write the incremental files of its subscriptions."""
    return [asdict(o) for o in run_due_subscriptions(runtime.engine(), group_id, _now)]


def publish_export(job_id: int) -> None:
    """The dispatcher's publisher for export jobs: the message carries the job id only."""
    app.send_task(RUN_TASK, args=[job_id])
