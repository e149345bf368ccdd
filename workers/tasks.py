"""Celery tasks: thin wrappers that take ids, call one core function and return a small summary.

Every task is named `vkpipe.<queue>.<action>`; the name routes it (celeryconfig.task_routes).
Transient failures (VK after the client's own retries, the database, the shared Redis limiter)
retry the whole task with exponential backoff and jitter; a fetch task that gives up fails its
batch's calls, so their posts and jobs end instead of waiting.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from celery import Task
from kombu.exceptions import OperationalError

from celeryconfig import MAX_RETRY_COUNTDOWN_SECONDS
from parser_pipeline import __version__
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.crawl import engine as crawl_engine
from parser_pipeline.crawl.jobs import JobEnded
from parser_pipeline.errors import CoordinationError, StorageError, VkTransientError
from parser_pipeline.export.jobs import publish_export_jobs, recover_lost_export_jobs
from parser_pipeline.health import healthy, record_heartbeat, run_checks
from parser_pipeline.orchestration.dispatch import (
    dispatch,
    publish_all_pending,
    waiting_for_quota,
)
from parser_pipeline.orchestration.reconcile import cleanup, reconcile
from parser_pipeline.orchestration.schedule import apply_schedule
from parser_pipeline.store.batches import BatchRef
from parser_pipeline.store.writes import chunks
from workers import runtime
from workers.app import app
from workers.export_tasks import SUBSCRIPTIONS_TASK, publish_export

log = structlog.get_logger(__name__)

FETCH_TASK = "vkpipe.fetch.batch"
# Finished jobs are kept this long for `celery -A workers jobs` and the API, then deleted.
JOB_RETENTION = timedelta(days=30)
# Comment keys per analyze message: one batch's changes, in a few small messages.
ANALYZE_KEYS_PER_MESSAGE = 2000
# Whole-task retries after the VK client's own retries are spent.
TASK_MAX_RETRIES = 5
RETRYABLE = (StorageError, CoordinationError, VkTransientError)
# Celery's Redis transport serves priority 0 first; a job's priority 10 is the most urgent.
HIGHEST_JOB_PRIORITY = 10


def _now() -> datetime:
    return datetime.now(UTC)


def broker_priority(job_priority: int) -> int:
    """Map a job's 1 (low) .. 10 (high) onto Celery's Redis 9 (low) .. 0 (high)."""
    return max(0, min(9, HIGHEST_JOB_PRIORITY - job_priority))


def publish(ref: BatchRef) -> None:
    """Send one batch to the fetch queue; the message carries the batch id only."""
    app.send_task(FETCH_TASK, args=[ref.batch_id], priority=broker_priority(ref.priority))


def _relay(what: str, action: Callable[[], object]) -> None:
    """Publish after the database has the work: when the broker is unreachable the message
    waits (pending batches are the dispatcher's to publish on its next pass, lost analysis is
    the backlog sweep's), and the task that did the work does not fail for it."""
    try:
        action()
    except OperationalError as exc:
        log.warning("task.relay_deferred", what=what, error=str(exc).splitlines()[0])


def _lost_after() -> timedelta:
    return timedelta(seconds=runtime.settings().lost_work_after_seconds)


class BatchTask(Task):  # type: ignore[misc]
    """The fetch task: when it finally fails, its calls fail, so their posts and jobs end."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        batch_id = args[0] if args else kwargs.get("batch_id")
        log.error("task.gave_up", task=self.name, batch_id=batch_id, error=str(exc))
        if batch_id is not None:
            settled = crawl_engine.give_up(
                runtime.engine(), int(batch_id), str(exc), _now(), runtime.policy()
            )
            _relay("follow-ups", lambda: _after_batch(settled.ended, []))
            _relay("batches", lambda: publish_all_pending(runtime.engine(), publish, _now()))


@app.task(
    name=FETCH_TASK,
    base=BatchTask,
    bind=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    retry_backoff_max=MAX_RETRY_COUNTDOWN_SECONDS,
    retry_jitter=True,
    max_retries=TASK_MAX_RETRIES,
    ignore_result=False,
)
def fetch_batch(self: Task, batch_id: int) -> dict[str, Any]:
    """Send one batch of up to 25 VK calls (any jobs' and groups'), store what came back, and
    publish the batches that became ready."""
    settled = crawl_engine.run_batch(
        runtime.engine(),
        runtime.vk(),
        batch_id,
        runtime.policy(),
        now=_now,
        lost_after=_lost_after(),
        claimer=self.request.id,
    )
    _relay("batches", lambda: publish_all_pending(runtime.engine(), publish, _now()))
    if settled is None:
        return {"batch_id": batch_id, "status": "skipped"}
    _relay("follow-ups", lambda: _after_batch(settled.ended, settled.changed))
    return {
        "batch_id": batch_id,
        "status": "done",
        "requests": settled.requests,
        "comments": settled.comments,
        "changed": len(settled.changed),
        "jobs_finished": [[e.job_id, e.status] for e in settled.ended],
    }


def _after_batch(ended: list[JobEnded], changed: list[tuple[int, int]]) -> None:
    """New or changed comments go to analysis (ids only; a lost message costs nothing: the
    backlog sweep finds unanalyzed comments), and a crawl job that ended hands its group to the
    export subscriptions that follow it (not an outbox either: subscriptions export everything
    past their watermark on the group's next crawl)."""
    for keys in chunks(changed, ANALYZE_KEYS_PER_MESSAGE):
        app.send_task("vkpipe.analyze.comments", args=[[list(key) for key in keys]])
    for job in ended:
        if job.status in ("succeeded", "failed") and job.group_id is not None:
            app.send_task(SUBSCRIPTIONS_TASK, args=[job.group_id])


@app.task(name="vkpipe.dispatch.dispatch_due_groups", ignore_result=True, acks_late=False)
def dispatch_due_groups() -> None:
    """Start due groups and requested jobs, pack their calls and publish the batches (the
    outbox relay)."""
    now = _now()
    record_heartbeat(runtime.engine(), "beat", now)
    client = runtime.vk()
    blocked = client.blocked_methods()
    dispatch(runtime.engine(), publish, now, runtime.policy(), blocked=blocked)
    for method, resets_at in waiting_for_quota(runtime.engine(), blocked).items():
        if client.ledger.announce(method, now):  # once a day for the whole fleet
            log.warning(
                "vk.quota_spent_crawls_wait",
                method=method,
                tokens=len(client.pool.usable_ids()),
                resets_at=resets_at.isoformat(),
            )
    publish_export_jobs(runtime.engine(), publish_export, now)


@app.task(name="vkpipe.dispatch.reconcile", ignore_result=True, acks_late=False)
def reconcile_lost_work() -> None:
    """Put batches that were published but never finished back in line; move stalled jobs."""
    reconcile(runtime.engine(), _now(), _lost_after(), runtime.policy())
    publish_all_pending(runtime.engine(), publish, _now())
    recover_lost_export_jobs(runtime.engine(), _now(), _lost_after())


@app.task(name="vkpipe.dispatch.schedule", ignore_result=True, acks_late=False)
def plan_schedule() -> None:
    """Stretch crawl intervals by priority when the VK budget cannot serve them all."""
    settings = runtime.settings()
    apply_schedule(runtime.engine(), settings.vk_daily_quotas, len(settings.tokens()), _now())


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
