"""Prometheus metrics of the pipeline (prometheus-client; multiprocess mode for prefork workers).

prometheus-client keeps metrics in process-wide registries by design, so they are module globals
here. With PROMETHEUS_MULTIPROC_DIR set (prefork workers), each process writes its samples to
that directory and the exporter (`vkpipe serve-health`, /metrics) adds them up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

import structlog

from parser_pipeline.constants import PROMETHEUS_MULTIPROC_ENV as ENV_VAR

# prometheus-client opens a file in PROMETHEUS_MULTIPROC_DIR as each metric below is created: a
# directory named but missing must not stop every command that imports this module (it did:
# `vkpipe db upgrade` died with FileNotFoundError in compose), so it is created first.
if os.environ.get(ENV_VAR):
    os.makedirs(os.environ[ENV_VAR], exist_ok=True)

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

VK_REQUESTS = Counter("vkpipe_vk_requests", "VK HTTP requests sent", ["method"])
VK_ERRORS = Counter(
    "vkpipe_vk_errors", "VK error answers (whole request or one execute slot)", ["code"]
)
VK_RETRIES = Counter("vkpipe_vk_retries", "VK calls retried after a transient error")
VK_LIMITER_WAIT = Counter(
    "vkpipe_vk_limiter_wait_seconds", "Seconds spent waiting for the shared VK rate limit"
)
COMMENTS_STORED = Counter("vkpipe_comments_stored", "Comments written (new, changed or re-read)")
COMMENTS_CHANGED = Counter("vkpipe_comments_changed", "Comments that were new or changed")
MATCHES_FOUND = Counter("vkpipe_keyword_matches", "Keyword matches found by analysis")
ALERTS_SENT = Counter("vkpipe_alerts_sent", "Alert deliveries a channel took", ["channel"])
ALERTS_FAILED = Counter(
    "vkpipe_alerts_failed", "Alert delivery attempts that failed (retried later)", ["channel"]
)
ALERTS_DEAD = Counter(
    "vkpipe_alerts_dead_lettered", "Alert deliveries given up after their max age", ["channel"]
)
ALERT_DELAY = Histogram(
    "vkpipe_alert_delay_seconds",
    "From the first comment of an alert being stored to the alert being delivered",
    ["channel"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400),
)
log = structlog.get_logger(__name__)
T = TypeVar("T")

JOB_DURATION = Histogram(
    "vkpipe_job_duration_seconds",
    "Crawl job duration from creation to end",
    ["status"],
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400),
)


class LiveGauges(Collector):
    """Gauges read at scrape time: queues, the oldest unfinished job, beat and live workers.

    A source that fails (the database or Redis is down) leaves its gauge out of that scrape
    instead of failing the whole page: the counters still reach Prometheus.
    """

    def __init__(
        self,
        queue_lengths: Callable[[], Mapping[str, int]],
        oldest_unfinished_job_age: Callable[[], float | None],
        beat_age: Callable[[], float | None] = lambda: None,
        workers: Callable[[], Mapping[str, int]] = dict,
        quota_remaining: Callable[[], Sequence[tuple[str, str, int]]] = list,
        alert_deliveries: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self._queue_lengths = queue_lengths
        self._oldest = oldest_unfinished_job_age
        self._beat_age = beat_age
        self._workers = workers
        self._quota = quota_remaining
        self._alerts = alert_deliveries

    def collect(self) -> Iterable[Metric]:
        lengths = _or_none(self._queue_lengths)
        if lengths is not None:
            queues = GaugeMetricFamily(
                "vkpipe_queue_length", "Messages waiting in each broker queue", labels=["queue"]
            )
            for name, length in sorted(lengths.items()):
                queues.add_metric([name], length)
            yield queues
        oldest = _or_none(self._oldest)
        yield GaugeMetricFamily(
            "vkpipe_oldest_unfinished_job_age_seconds",
            "Age of the oldest queued or running crawl job (0 when none)",
            value=oldest or 0.0,
        )
        beat = _or_none(self._beat_age)
        if beat is not None:
            yield GaugeMetricFamily(
                "vkpipe_beat_last_pass_age_seconds",
                "Seconds since beat's last dispatcher pass (absent before the first)",
                value=beat,
            )
        workers = _or_none(self._workers)
        if workers:
            live = GaugeMetricFamily(
                "vkpipe_workers",
                "Live workers consuming each queue (by heartbeat)",
                labels=["queue"],
            )
            for name, count in sorted(workers.items()):
                live.add_metric([name], count)
            yield live
        quota = _or_none(self._quota)
        if quota:
            remaining = GaugeMetricFamily(
                "vkpipe_vk_quota_remaining",
                "Calls of a daily-quota method a token may still make today (token: its last "
                "four characters)",
                labels=["method", "token"],
            )
            for method, token, left in sorted(quota):
                remaining.add_metric([method, token], left)
            yield remaining
        alerts = _or_none(self._alerts)
        if alerts:
            outbox = GaugeMetricFamily(
                "vkpipe_alert_deliveries",
                "Alert deliveries in the outbox per status (dead: the dead letter)",
                labels=["status"],
            )
            for status, count in sorted(alerts.items()):
                outbox.add_metric([status], count)
            yield outbox


def _or_none(source: Callable[[], T]) -> T | None:
    try:
        return source()
    except Exception:  # a scrape must not fail because one source is down
        log.warning("metrics.source_failed", source=getattr(source, "__name__", "?"))
        return None


def exposition(extra: Collector | None = None) -> bytes:
    """The text exposition of this process's metrics (or every process's in multiprocess mode)."""
    if os.environ.get(ENV_VAR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    if extra is None:
        return generate_latest(registry)
    combined = CollectorRegistry()
    combined.register(_Forward(registry))
    combined.register(extra)
    return generate_latest(combined)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        return self._registry.collect()
