"""Per-token rolling-window rate limit (VK: 3 requests per second for user tokens)."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

# VK counts requests per rolling second.
WINDOW_SECONDS = 1.0


class RateLimiter:
    """`allow(key, at)` admits at most `per_second` calls per key in any rolling window.

    A call is judged at the moment it *arrived* (`at`, on `clock`'s scale), which the caller
    may pass explicitly: the emulator's event loop can run a request's arrival later than it
    happened when it is busy rendering other answers, and judging that late moment would count
    the emulator's own delays as the client's. Arrivals may therefore be judged out of order; a
    call is admitted when no rolling window containing it would then hold more than
    `per_second` calls. Rejected calls do not count, so a client that backs off gets through
    again. The clock is injectable so tests are exact without sleeping.
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
        self._hits: dict[str, list[float]] = {}

    def set_limit(self, per_second: int | None) -> None:
        self.per_second = per_second
        self._hits.clear()

    def allow(self, key: str, at: float | None = None) -> bool:
        limit = self.per_second
        if limit is None:
            return True
        at = self.clock() if at is None else at
        hits = self._hits.setdefault(key, [])
        # Hits two windows older than the newest arrival can share no window with a new one
        # (arrivals come out of order by far less than a window).
        newest = max(at, hits[-1]) if hits else at
        del hits[: bisect.bisect_right(hits, newest - 2 * self.window)]
        index = bisect.bisect_right(hits, at)
        trial = [*hits[:index], at, *hits[index:]]
        # Every run of limit + 1 consecutive calls that includes this one must span a window.
        for start in range(max(0, index - limit), min(index, len(trial) - limit - 1) + 1):
            if trial[start + limit] - trial[start] < self.window:
                return False
        hits.insert(index, at)
        return True
