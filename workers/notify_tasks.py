"""Tasks of the `notify` queue (threads: deliveries wait on receivers): one alert pass.

`vkpipe.notify.run` runs the core's `run_alerts`: the sweep (digests, spikes, deleted comments)
and every due delivery. It carries no ids: the outbox rows are the work, claimed with SKIP
LOCKED and a lease, so a lost message loses nothing (beat sends the next pass within
`alerts_sweep_interval_seconds`) and a worker killed mid-delivery only delays its rows until
their lease ends. The analyze task sends a pass as soon as it wrote alerts.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Final

from celery import Task

from celeryconfig import MAX_RETRY_COUNTDOWN_SECONDS
from parser_pipeline.alerts.delivery import run_alerts
from parser_pipeline.errors import StorageError
from workers import runtime
from workers.app import app

RUN_TASK: Final = "vkpipe.notify.run"
# One pass sends for at most this long, then leaves the rest to the next pass: a backlog after
# an outage never makes one task outlive its time limit.
PASS_MAX_SECONDS: Final = 60.0
NOTIFY_MAX_RETRIES: Final = 3


@app.task(
    name=RUN_TASK,
    bind=True,
    autoretry_for=(StorageError,),
    retry_backoff=True,
    retry_backoff_max=MAX_RETRY_COUNTDOWN_SECONDS,
    retry_jitter=True,
    max_retries=NOTIFY_MAX_RETRIES,
    ignore_result=True,
    # The outbox is the durable record; a message lost with its worker costs one beat interval.
    acks_late=False,
)
def run_alert_pass(self: Task) -> dict[str, Any]:
    """Sweep the alert rules and deliver what is due."""
    summary = run_alerts(
        runtime.engine(), runtime.settings(), runtime.alert_sender(), max_seconds=PASS_MAX_SECONDS
    )
    return asdict(summary)
