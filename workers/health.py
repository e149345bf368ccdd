"""Ask the running Celery workers who they are: which queues each consumes, and its concurrency."""

from __future__ import annotations

from typing import Any

from celery import Celery

from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.health import Check

# Seconds to wait for the workers' replies to a broadcast.
INSPECT_TIMEOUT_SECONDS = 2.0


def worker_checks(app: Celery, queues: tuple[str, ...] = ALL_QUEUES) -> list[Check]:
    """One line per queue: the live workers consuming it (by `celery inspect`) and their pools."""
    inspect = app.control.inspect(timeout=INSPECT_TIMEOUT_SECONDS)
    active: dict[str, list[dict[str, Any]]] = inspect.active_queues() or {}
    stats: dict[str, dict[str, Any]] = inspect.stats() or {} if active else {}
    checks: list[Check] = []
    for queue in queues:
        workers = sorted(name for name, qs in active.items() if any(q["name"] == queue for q in qs))
        if not workers:
            checks.append(
                Check(
                    f"workers on {queue}",
                    "fail",
                    f"no live worker consumes {queue!r}: "
                    f"start `celery -A workers worker -Q {queue}`",
                )
            )
            continue
        described = ", ".join(f"{w} (concurrency {_concurrency(stats.get(w))})" for w in workers)
        checks.append(Check(f"workers on {queue}", "ok", described))
    return checks


def _concurrency(stats: dict[str, Any] | None) -> str:
    pool = (stats or {}).get("pool") or {}
    value = pool.get("max-concurrency")
    return str(value) if value is not None else "?"
