"""Celery settings for vkpipe, and only those; each carries the reason it is set."""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue

from parser_pipeline.constants import ALL_QUEUES, BROKER_PRIORITY_STEPS, QUEUE_DISPATCH
from parser_pipeline.settings import Settings

# The longest a task may run before the worker kills it. A fetch batch is 25 posts in one
# execute plus thread drill-downs; 30 minutes is far past any healthy batch.
TASK_TIME_LIMIT_SECONDS = 30 * 60
# The soft limit raises inside the task first so it can leave its batch cleanly.
TASK_SOFT_TIME_LIMIT_SECONDS = TASK_TIME_LIMIT_SECONDS - 60
# The longest countdown a task retry may ask for (Celery autoretry backoff cap).
MAX_RETRY_COUNTDOWN_SECONDS = 10 * 60
# Redis redelivers an unacknowledged message after this long. With acks_late a message stays
# unacknowledged while its task runs (and while a retry countdown waits), so this must exceed
# both, or a second worker would start the same task while the first is still on it.
VISIBILITY_TIMEOUT_SECONDS = 2 * (TASK_TIME_LIMIT_SECONDS + MAX_RETRY_COUNTDOWN_SECONDS)
# Results are read by the CLI and Flower shortly after a task ends; PostgreSQL keeps the record.
RESULT_EXPIRES_SECONDS = 24 * 60 * 60
# Priorities 0..9 (Celery's Redis transport emulates them with one list per step); the
# dispatcher maps a group's priority 1..10 onto them.
PRIORITY_STEPS = list(BROKER_PRIORITY_STEPS)

# Only JSON crosses the broker and the result backend: pickle would let anyone who can write
# to Redis run code in every worker, and JSON keeps task arguments readable in Flower.
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_accept_content = ["json"]

# Acknowledge after the task ran, and give the message back when the worker process dies:
# a killed worker's task is redelivered instead of lost. Safe because every write is idempotent.
task_acks_late = True
task_reject_on_worker_lost = True
# One message at a time per worker process: long VK batches must not sit reserved behind a
# busy process while another process idles, and a crash returns at most one message.
worker_prefetch_multiplier = 1

task_time_limit = TASK_TIME_LIMIT_SECONDS
task_soft_time_limit = TASK_SOFT_TIME_LIMIT_SECONDS
result_expires = RESULT_EXPIRES_SECONDS

# Workers started before Redis is up keep trying instead of exiting (compose start order).
broker_connection_retry_on_startup = True
broker_connection_max_retries = None

# One queue per stage so each pool scales on its own; unrouted work goes to `dispatch`.
task_default_queue = QUEUE_DISPATCH
task_queues = [Queue(name, routing_key=name) for name in ALL_QUEUES]
task_create_missing_queues = False
# Tasks are named `vkpipe.<queue>.<action>`; the route follows from the name.
task_routes = {f"vkpipe.{name}.*": {"queue": name, "routing_key": name} for name in ALL_QUEUES}

# Flower shows what it can see: task events and a "started" state for long fetch batches.
worker_send_task_events = True
task_send_sent_event = True
task_track_started = True

# Beat's housekeeping passes run every few seconds (dispatch every 5 s is 17,280 tasks a day):
# they send no task events, so Flower's task list shows the crawl's work, and their routine
# "received"/"succeeded" lines stay out of the worker log (workers/app.py). Beat itself sends
# no "task-sent" events either. They are watched through beat's heartbeat instead
# (`vkpipe doctor`, vkpipe_beat_last_pass_age_seconds).
QUIET_TASKS = (
    "vkpipe.dispatch.dispatch_due_groups",
    "vkpipe.dispatch.reconcile",
    "vkpipe.dispatch.cleanup",
    "vkpipe.analyze.backlog",
    "vkpipe.notify.run",
)
task_annotations = {name: {"send_events": False} for name in QUIET_TASKS}

# Our structlog configuration owns the root logger (JSON lines, secret redaction).
worker_hijack_root_logger = False
worker_redirect_stdouts = False

enable_utc = True
timezone = "UTC"

_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": VISIBILITY_TIMEOUT_SECONDS,
    "priority_steps": PRIORITY_STEPS,
    "queue_order_strategy": "priority",
}


def from_settings(settings: Settings) -> dict[str, Any]:
    """The settings that depend on the deployment: broker, result backend and their options."""
    if settings.embedded:
        # No broker: nothing is published and no worker runs (`vkpipe crawl` runs the crawl in
        # its own process, crawl/run.py). The app is still built, for the `celery -A workers`
        # subcommands that only write job rows; kombu's in-memory transport and result cache
        # let it load without any server.
        return {
            "broker_url": "memory://",
            "result_backend": "cache+memory://",
            "broker_transport_options": {},
            "result_backend_transport_options": {},
        }
    result_backend = settings.result_backend
    if result_backend is None and str(settings.broker_url).startswith(("redis://", "rediss://")):
        result_backend = settings.broker_url  # one Redis serves both unless told otherwise
    return {
        "broker_url": settings.broker_url,
        "result_backend": result_backend,
        "broker_transport_options": dict(_TRANSPORT_OPTIONS),
        "result_backend_transport_options": {"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
    }
