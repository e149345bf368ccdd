"""Thread-safe counters of VK traffic: requests, errors, retries, limiter waits."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from parser_pipeline import metrics


class VkCounters:
    """What the client did, for log lines and Prometheus; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._retries = 0
        self._limiter_waits = 0
        self._limiter_wait_seconds = 0.0
        self._inner_calls = 0
        self._tokens_dropped = 0
        self._tokens_parked = 0
        self._splits = 0

    def request(self, method: str, *, inner_calls: int = 0) -> None:
        """One HTTP request to `method`; `inner_calls` is how many API calls an execute carried."""
        metrics.VK_REQUESTS.labels(method).inc()
        with self._lock:
            self._requests[method] += 1
            self._inner_calls += inner_calls

    def error(self, code: int | None) -> None:
        """One error answer (whole request or one execute slot); code None is a transport fault."""
        label = "transport" if code is None else str(code)
        metrics.VK_ERRORS.labels(label).inc()
        with self._lock:
            self._errors[label] += 1

    def retry(self, count: int = 1) -> None:
        metrics.VK_RETRIES.inc(count)
        with self._lock:
            self._retries += count

    def limiter_wait(self, seconds: float) -> None:
        """The limiter made us wait; counted apart from retries because waiting is not failing."""
        if seconds <= 0:
            return
        metrics.VK_LIMITER_WAIT.inc(seconds)
        with self._lock:
            self._limiter_waits += 1
            self._limiter_wait_seconds += seconds

    def token_dropped(self) -> None:
        with self._lock:
            self._tokens_dropped += 1

    def token_parked(self) -> None:
        with self._lock:
            self._tokens_parked += 1

    def split(self) -> None:
        with self._lock:
            self._splits += 1

    def snapshot(self) -> dict[str, Any]:
        """A copy of every counter as plain JSON-friendly values."""
        with self._lock:
            return {
                "requests_by_method": dict(self._requests),
                "errors_by_code": dict(self._errors),
                "retries": self._retries,
                "limiter_waits": self._limiter_waits,
                "limiter_wait_seconds": round(self._limiter_wait_seconds, 6),
                "inner_calls": self._inner_calls,
                "tokens_dropped": self._tokens_dropped,
                "tokens_parked": self._tokens_parked,
                "execute_splits": self._splits,
            }
