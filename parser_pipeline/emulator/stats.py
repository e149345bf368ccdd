"""Request counters of the emulator: by method, by token, inner execute calls, faults."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Stats:
    """Mutable counters; `snapshot()` returns plain dicts safe to keep."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total_requests = 0
        self.requests_by_method: Counter[str] = Counter()
        self.requests_by_token: Counter[str] = Counter()
        self.execute_inner_calls = 0
        self.execute_inner_by_method: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.errors_by_code: Counter[int] = Counter()
        self.rate_limited = 0
        self.quota_refused = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "total_requests": self.total_requests,
            "requests_by_method": dict(self.requests_by_method),
            "requests_by_token": dict(self.requests_by_token),
            "execute_inner_calls": self.execute_inner_calls,
            "execute_inner_by_method": dict(self.execute_inner_by_method),
            "faults_injected": dict(self.faults_injected),
            "errors_by_code": dict(self.errors_by_code),
            "rate_limited": self.rate_limited,
            "quota_refused": self.quota_refused,
        }
