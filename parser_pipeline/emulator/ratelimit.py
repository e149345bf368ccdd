"""Per-token rolling-window rate limit (VK: 3 requests per second for user tokens)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

# VK counts requests per rolling second.
WINDOW_SECONDS = 1.0


class RateLimiter:
    """`allow(key)` admits at most `per_second` calls per key in any rolling window.

    Rejected calls do not count, so a client that backs off gets through again. The
    clock is injectable so tests are exact without sleeping.
    """

    def __init__(
        self,
        per_second: int | None,
        clock: Callable[[], float] = time.monotonic,
        window: float = WINDOW_SECONDS,
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def set_limit(self, per_second: int | None) -> None:
        self.per_second = per_second
        self._hits.clear()

    def allow(self, key: str) -> bool:
        if self.per_second is None:
            return True
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.per_second:
            return False
        hits.append(now)
        return True
