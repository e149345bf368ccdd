"""Analyze tasks (queue `analyze`, prefork: matching is CPU work): thin wrappers over the core.

`vkpipe.analyze.comments` takes comment keys (ids, never texts) and analyzes those comments;
`vkpipe.analyze.backlog` works through comments not analyzed yet (beat sweeps it, so nothing is
left behind when a message is lost); `vkpipe.analyze.rematch` queues every stored comment for
analysis again after the rules changed, and the backlog sweeps of all analyze processes share
the matching (one task matching millions of comments would outlive the task time limit).
An analysis that wrote alerts to the outbox asks the notify queue for a pass at once.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import Task

from celeryconfig import MAX_RETRY_COUNTDOWN_SECONDS
from parser_pipeline.analyze.service import AnalyzeSummary, analyze_comments, request_reanalysis
from parser_pipeline.errors import StorageError
from workers import runtime
from workers.app import app
from workers.notify_tasks import RUN_TASK as NOTIFY_RUN_TASK

# Whole-task retries when the database fails; every analyze write is idempotent.
ANALYZE_MAX_RETRIES = 5
# Comments one backlog task analyzes at most (~1 minute on one core, far below the task time
# limit); the beat sweep sends the next one, and parallel ones take different rows.
BACKLOG_TASK_MAX_COMMENTS = 20_000
# Keys one `vkpipe.analyze.comments` message may carry: a crawl batch's changed comments.
MAX_KEYS_PER_TASK = 50_000

ANALYZE_OPTIONS: dict[str, Any] = {
    "bind": True,
    "autoretry_for": (StorageError,),
    "retry_backoff": True,
    "retry_backoff_max": MAX_RETRY_COUNTDOWN_SECONDS,
    "retry_jitter": True,
    "max_retries": ANALYZE_MAX_RETRIES,
    "ignore_result": False,
}


def _keys(keys: list[list[int]]) -> list[tuple[int, int]]:
    if len(keys) > MAX_KEYS_PER_TASK:
        raise ValueError(f"{len(keys)} keys in one message; at most {MAX_KEYS_PER_TASK}")
    return [(int(owner_id), int(comment_id)) for owner_id, comment_id in keys]


def _and_notify(summary: AnalyzeSummary) -> dict[str, Any]:
    """The summary; when it wrote alerts to the outbox, an alert pass now (beat's pass is the
    safety net, a few seconds later)."""
    if summary.alerts:
        app.send_task(NOTIFY_RUN_TASK)
    return asdict(summary)


@app.task(name="vkpipe.analyze.comments", **ANALYZE_OPTIONS)
def analyze_comment_keys(self: Task, keys: list[list[int]]) -> dict[str, Any]:
    """Analyze the comments [owner_id, comment_id] (new or changed ones, from a crawl)."""
    return _and_notify(analyze_comments(runtime.engine(), _keys(keys)))


@app.task(name="vkpipe.analyze.backlog", **ANALYZE_OPTIONS)
def analyze_backlog(self: Task) -> dict[str, Any]:
    """Analyze comments that wait for analysis (analyzed_at NULL), a bounded number per task."""
    summary = analyze_comments(runtime.engine(), max_comments=BACKLOG_TASK_MAX_COMMENTS)
    return _and_notify(summary)


@app.task(name="vkpipe.analyze.rematch", **ANALYZE_OPTIONS)
def rematch_all(self: Task) -> dict[str, Any]:
    """Queue every stored comment for analysis again; the backlog sweeps do the matching."""
    return {"queued": request_reanalysis(runtime.engine())}
