"""Each worker writes a heartbeat row (its node, queues, pool) so health checks need no Celery.

Started when the worker is ready to consume, removed when it shuts down warm; a killed worker's
row ages out (parser_pipeline/heartbeats.py). A database outage only skips beats.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

import structlog
from celery import signals

from parser_pipeline.heartbeats import WORKER_HEARTBEAT_SECONDS, forget_worker, record_worker
from parser_pipeline.metrics_dir import ENV_VAR
from workers import runtime

log = structlog.get_logger(__name__)

_stop = threading.Event()
_state: dict[str, Any] = {}


def describe(consumer: Any) -> dict[str, Any]:
    """What the worker says about itself: its queues, pool and concurrency, where its metrics go."""
    controller = consumer.controller
    return {
        "queues": sorted(q.name for q in consumer.task_consumer.queues),
        "pool": type(controller.pool).__module__.rsplit(".", 1)[-1],
        "concurrency": controller.concurrency,
        "metrics_dir": os.environ.get(ENV_VAR),
        "pid": os.getpid(),
    }


def _beat(consumer: Any) -> None:
    node = consumer.hostname
    failing = False
    while not _stop.is_set():
        try:
            record_worker(runtime.engine(), node, describe(consumer), datetime.now(UTC))
            if failing:
                log.info("worker.heartbeat_restored", node=node)
            failing = False
        except Exception as exc:  # the worker goes on (StorageError or worse); health notices
            if not failing:
                log.warning("worker.heartbeat_failed", node=node, error=str(exc).splitlines()[0])
            failing = True
        _stop.wait(WORKER_HEARTBEAT_SECONDS)


@signals.worker_ready.connect
def _start(sender: Any = None, **_: Any) -> None:
    _stop.clear()
    _state["node"] = sender.hostname
    thread = threading.Thread(target=_beat, args=(sender,), name="vkpipe-heartbeat", daemon=True)
    thread.start()
    _state["thread"] = thread


@signals.worker_shutdown.connect
def _stop_beating(**_: Any) -> None:
    _stop.set()
    thread = _state.pop("thread", None)
    if thread is not None:
        thread.join(WORKER_HEARTBEAT_SECONDS)
    node = _state.pop("node", None)
    if node is not None:
        try:
            forget_worker(runtime.engine(), node)
        except Exception as exc:  # the row ages out on its own
            log.warning("worker.heartbeat_not_removed", node=node, error=str(exc).splitlines()[0])
