"""The embedded mode's worker: the same tasks, consumed by a thread of the calling process.

With no broker configured, kombu's `memory://` transport carries the messages inside this
process and this worker (a thread pool) executes them; no server is needed, and the tasks,
routes and serialization are exactly those of the distributed mode.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery
from celery._state import _set_task_join_will_block
from celery.worker import WorkController, state

from parser_pipeline.constants import ALL_QUEUES

# How long to wait for the worker thread to start consuming, and to finish on exit.
READY_TIMEOUT_SECONDS = 30.0


class _EmbeddedWorkController(WorkController):  # type: ignore[misc]  # Celery is untyped
    """A WorkController that tells when its consumer is ready (as Celery's test worker does)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.consuming = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.consuming.set()


@contextmanager
def embedded_worker(app: Celery, *, concurrency: int = 4) -> Iterator[WorkController]:
    """Run a worker on every queue in a background thread for the duration of the block."""
    if not str(app.conf.broker_url).startswith("memory://"):
        raise RuntimeError("embedded_worker runs only on the in-memory broker (no broker set)")
    # As Celery's own test worker: tasks resolve their app through the "current" app.
    app.finalize()
    app.set_current()
    app.set_default()
    worker = _EmbeddedWorkController(
        app=app,
        pool="threads",
        concurrency=concurrency,
        queues=list(ALL_QUEUES),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    thread = threading.Thread(target=worker.start, name="vkpipe-embedded-worker", daemon=True)
    thread.start()
    try:
        if not worker.consuming.wait(READY_TIMEOUT_SECONDS):
            raise RuntimeError("the embedded Celery worker did not start consuming")
        # A worker marks its process as "inside a task"; the calling thread is not, and may
        # wait for results (as Celery's own test worker allows).
        _set_task_join_will_block(False)
        yield worker
    finally:
        # Celery's own shutdown path: the consumer sees the flag, finishes and returns.
        state.should_terminate = 0
        thread.join(READY_TIMEOUT_SECONDS)
        state.should_terminate = None
