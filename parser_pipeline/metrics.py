"""Prometheus metrics of the pipeline (prometheus-client; multiprocess mode for prefork workers).

prometheus-client keeps metrics in process-wide registries by design, so they are module globals
here. With PROMETHEUS_MULTIPROC_DIR set (prefork workers), each process writes its samples to
that directory and the exporter (`vkpipe serve-health`, /metrics) adds them up.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

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
JOB_DURATION = Histogram(
    "vkpipe_job_duration_seconds",
    "Crawl job duration from creation to end",
    ["status"],
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400),
)


class LiveGauges(Collector):
    """Gauges read at scrape time: queue lengths and the age of the oldest unfinished job."""

    def __init__(
        self,
        queue_lengths: Callable[[], Mapping[str, int]],
        oldest_unfinished_job_age: Callable[[], float | None],
    ) -> None:
        self._queue_lengths = queue_lengths
        self._oldest = oldest_unfinished_job_age

    def collect(self) -> Iterable[Metric]:
        queues = GaugeMetricFamily(
            "vkpipe_queue_length", "Messages waiting in each broker queue", labels=["queue"]
        )
        for name, length in sorted(self._queue_lengths().items()):
            queues.add_metric([name], length)
        yield queues
        age = self._oldest()
        yield GaugeMetricFamily(
            "vkpipe_oldest_unfinished_job_age_seconds",
            "Age of the oldest queued or running crawl job (0 when none)",
            value=age or 0.0,
        )


def exposition(extra: Collector | None = None) -> bytes:
    """The text exposition of this process's metrics (or every process's in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
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
