"""Celery tasks: thin wrappers that take ids, call one core function and return a small summary.

Every task is named `vkpipe.<queue>.<action>`; the name routes it (celeryconfig.task_routes).
Transient failures (VK after the client's own retries, the database) retry the whole task with
exponential backoff and jitter; a task that gives up marks its work item failed, so the job ends.
"""

from __future__ import annotations

import socket
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from celery import Task

from celeryconfig import MAX_RETRY_COUNTDOWN_SECONDS
from parser_pipeline import __version__
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.errors import StorageError, VkTransientError
from parser_pipeline.export.jobs import publish_export_jobs, recover_lost_export_jobs
from parser_pipeline.export.subscriptions import crawl_job_group
from parser_pipeline.health import healthy, record_heartbeat, run_checks
from parser_pipeline.orchestration import stages
from parser_pipeline.orchestration.dispatch import dispatch, publish_all_pending
from parser_pipeline.orchestration.reconcile import cleanup, reconcile
from parser_pipeline.orchestration.work import WorkRef
from workers import runtime
from workers.app import app
from workers.export_tasks import SUBSCRIPTIONS_TASK, publish_export

log = structlog.get_logger(__name__)

TASK_FOR_KIND = {"wall": "vkpipe.fetch.list_wall", "comments": "vkpipe.fetch.comments"}
# Finished jobs are kept this long for `celery -A workers jobs` and the API, then deleted.
JOB_RETENTION = timedelta(days=30)
# Comment keys per analyze message: one comments batch's changes, in a few small messages.
ANALYZE_KEYS_PER_MESSAGE = 2000
# Whole-task retries after the VK client's own retries are spent.
TASK_MAX_RETRIES = 5
RETRYABLE = (StorageError, VkTransientError)


def _now() -> datetime:
    return datetime.now(UTC)


def publish(ref: WorkRef) -> None:
    """Send one work item to its queue by task name; the message carries the item id only."""
    app.send_task(TASK_FOR_KIND[ref.kind], args=[ref.item_id], priority=ref.priority)


def _lost_after() -> timedelta:
    return timedelta(seconds=runtime.settings().lost_work_after_seconds)


class WorkItemTask(Task):  # type: ignore[misc]
    """A stage task: when it finally fails, its work item is marked failed and its job may end."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        item_id = args[0] if args else kwargs.get("item_id")
        log.error("task.gave_up", task=self.name, item_id=item_id, error=str(exc))
        if item_id is not None:
            _after_stage(stages.fail_item(runtime.engine(), int(item_id), exc))
            publish_all_pending(runtime.engine(), publish, _now())


STAGE_OPTIONS: dict[str, Any] = {
    "base": WorkItemTask,
    "bind": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": True,
    "retry_backoff_max": MAX_RETRY_COUNTDOWN_SECONDS,
    "retry_jitter": True,
    "max_retries": TASK_MAX_RETRIES,
    "ignore_result": False,
}


@app.task(name="vkpipe.fetch.list_wall", **STAGE_OPTIONS)
def list_wall(self: Task, item_id: int) -> dict[str, Any]:
    """List a group's wall for a crawl job and fan out its comment batches."""
    result = stages.run_wall_item(
        runtime.engine(),
        runtime.vk(),
        item_id,
        lost_after=_lost_after(),
        full_verify_every=runtime.settings().full_verify_every,
        claimer=self.request.id,
    )
    publish_all_pending(runtime.engine(), publish, _now())
    _after_stage(result)
    return _summary(result)


@app.task(name="vkpipe.fetch.comments", **STAGE_OPTIONS)
def comments(self: Task, item_id: int) -> dict[str, Any]:
    """Read and store every comment and reply of one batch of posts; hand new ones to analysis."""
    result = stages.run_comments_item(
        runtime.engine(), runtime.vk(), item_id, lost_after=_lost_after(), claimer=self.request.id
    )
    # Ids only. A lost message costs nothing: the backlog sweep finds unanalyzed comments.
    for start in range(0, len(result.changed), ANALYZE_KEYS_PER_MESSAGE):
        keys = [list(key) for key in result.changed[start : start + ANALYZE_KEYS_PER_MESSAGE]]
        app.send_task("vkpipe.analyze.comments", args=[keys])
    _after_stage(result)
    return _summary(result)


def _after_stage(result: stages.StageResult) -> None:
    """A crawl job that just ended hands its group to the export subscriptions that follow it.

    Not an outbox: a lost message only delays the files, since subscriptions export everything
    past their watermark on the group's next crawl.
    """
    if result.job_finished in ("succeeded", "failed") and result.job_id is not None:
        group_id = crawl_job_group(runtime.engine(), result.job_id)
        if group_id is not None:
            app.send_task(SUBSCRIPTIONS_TASK, args=[group_id])


def _summary(result: stages.StageResult) -> dict[str, Any]:
    summary = asdict(result)
    summary["changed"] = len(result.changed)
    return summary


@app.task(name="vkpipe.dispatch.dispatch_due_groups", ignore_result=True, acks_late=False)
def dispatch_due_groups() -> None:
    """Start due groups, dispatch requested jobs and publish pending work (the outbox relay)."""
    now = _now()
    record_heartbeat(runtime.engine(), "beat", now)
    dispatch(runtime.engine(), publish, now)
    publish_export_jobs(runtime.engine(), publish_export, now)


@app.task(name="vkpipe.dispatch.reconcile", ignore_result=True, acks_late=False)
def reconcile_lost_work() -> None:
    """Put work that was enqueued but never finished back in line; close forgotten jobs."""
    reconcile(runtime.engine(), _now(), _lost_after())
    recover_lost_export_jobs(runtime.engine(), _now(), _lost_after())


@app.task(name="vkpipe.dispatch.cleanup", ignore_result=True, acks_late=False)
def cleanup_old_jobs() -> None:
    """Delete finished jobs older than the retention period (collected data stays)."""
    cleanup(runtime.engine(), _now(), JOB_RETENTION)


@app.task(name="vkpipe.dispatch.ping", ignore_result=False, acks_late=False)
def ping() -> dict[str, Any]:
    """Answer which worker and which vkpipe version took the message (health probes, tests)."""
    return {"host": socket.gethostname(), "version": __version__}


def _health() -> dict[str, Any]:
    """The doctor's checks as this worker sees them (database, Redis, broker, VK, versions)."""
    checks = run_checks(runtime.settings())
    return {
        "host": socket.gethostname(),
        "healthy": healthy(checks),
        "checks": [c.to_json() for c in checks],
    }


# One health task per queue, so a deployment probe can ask each worker pool separately.
HEALTH_TASKS = {
    queue: app.task(name=f"vkpipe.{queue}.health", ignore_result=False, acks_late=False)(_health)
    for queue in ALL_QUEUES
}
