"""Per-token rate limits: a Redis sliding window shared by every process, and an in-process twin.

Why a Lua script rather than the `limits` library: one script call checks every candidate token,
grants a slot on the least-loaded free one, and otherwise says how long until the first slot
frees, all atomically and in one round trip, on the Redis server's clock (so hosts with skewed
clocks still agree). `limits`' moving window answers one key per call and only "yes/no", so
picking the token that can go soonest would cost several round trips and a race between them.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import redis

from parser_pipeline.constants import REDIS_RATE_LIMIT_PREFIX
from parser_pipeline.errors import VkTransportError

# VK counts requests per rolling second per token.
VK_RATE_WINDOW_SECONDS = 1.0
# Longest single sleep while waiting for a slot: short, so a token that un-parks or a slot
# freed early by another process is noticed quickly.
MAX_LIMITER_SLEEP_SECONDS = 0.25
_MICROS = 1_000_000

# KEYS: one sorted set per candidate token. ARGV: limit, window (µs), now (µs or "" for the
# server's clock), a member prefix unique to the caller. Returns {index of the granted key
# (1-based) or 0, µs to wait when nothing was granted}.
_SLIDING_WINDOW_LUA = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local best = 0
local best_count = 0
local min_wait = -1
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count < limit then
    if best == 0 or count < best_count then
      best = i
      best_count = count
    end
  else
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if min_wait < 0 or wait < min_wait then
      min_wait = wait
    end
  end
end
if best > 0 then
  redis.call('ZADD', KEYS[best], now, ARGV[4] .. ':' .. now)
  redis.call('PEXPIRE', KEYS[best], math.floor(window / 1000) + 1000)
  return {best, 0}
end
if min_wait < 1 then
  min_wait = 1
end
return {0, min_wait}
"""


class RateLimiter(Protocol):
    """N requests per rolling window per token id."""

    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        """Take a slot on the freest of `token_ids` now: (its id, 0), or (None, seconds to wait)."""
        ...

    def acquire(self, token_id: str) -> float:
        """Block until `token_id` has a slot and take it; returns the seconds waited."""
        ...


class _BlockingAcquire(ABC):
    """`acquire` and `acquire_any` built on `try_acquire` and an injectable sleep."""

    _sleep: Callable[[float], None]

    @abstractmethod
    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        """A slot for one of the tokens now, or (None, seconds until the first frees up)."""

    def acquire_any(self, token_ids: Sequence[str]) -> tuple[str, float]:
        """Block until one of `token_ids` has a slot; returns (that id, seconds waited)."""
        if not token_ids:
            raise ValueError("acquire_any needs at least one token id")
        waited = 0.0
        while True:
            granted, wait = self.try_acquire(token_ids)
            if granted is not None:
                return granted, waited
            pause = min(wait, MAX_LIMITER_SLEEP_SECONDS)
            self._sleep(pause)
            waited += pause

    def acquire(self, token_id: str) -> float:
        return self.acquire_any([token_id])[1]


class InProcessRateLimiter(_BlockingAcquire):
    """The embedded mode's limiter: the same sliding window, kept in this process's memory."""

    def __init__(
        self,
        limit: int,
        *,
        window_seconds: float = VK_RATE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._grants: dict[str, deque[float]] = {}

    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        with self._lock:
            now = self._clock()
            best: str | None = None
            best_count = 0
            min_wait: float | None = None
            for tid in token_ids:
                grants = self._grants.setdefault(tid, deque())
                while grants and grants[0] <= now - self.window:
                    grants.popleft()
                if len(grants) < self.limit:
                    if best is None or len(grants) < best_count:
                        best, best_count = tid, len(grants)
                else:
                    wait = grants[0] + self.window - now
                    min_wait = wait if min_wait is None else min(min_wait, wait)
            if best is not None:
                self._grants[best].append(now)
                return best, 0.0
            return None, max(min_wait or 0.0, 1e-6)


class RedisRateLimiter(_BlockingAcquire):
    """The limit shared by every process and host: one Lua sliding window per token in Redis."""

    def __init__(
        self,
        client: redis.Redis[Any],
        limit: int,
        *,
        window_seconds: float = VK_RATE_WINDOW_SECONDS,
        prefix: str = REDIS_RATE_LIMIT_PREFIX,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window_seconds <= 0:
            raise ValueError("limit must be >= 1 and window_seconds > 0")
        self.limit = limit
        self.window = window_seconds
        self._prefix = prefix
        self._clock = clock  # None: the Redis server's clock, the same for every host
        self._sleep = sleep
        self._script = client.register_script(_SLIDING_WINDOW_LUA)
        self._member_prefix = f"{os.getpid()}-{id(self):x}"
        self._seq = itertools.count()

    def key(self, token_id: str) -> str:
        return f"{self._prefix}{token_id}"

    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        now = "" if self._clock is None else str(int(self._clock() * _MICROS))
        member = f"{self._member_prefix}-{next(self._seq)}"
        try:
            index, wait_us = self._script(
                keys=[self.key(t) for t in token_ids],
                args=[self.limit, int(self.window * _MICROS), now, member],
            )
        except redis.RedisError as exc:
            raise VkTransportError(
                f"rate limiter unavailable ({type(exc).__name__}); check VKPIPE_REDIS_URL"
            ) from exc
        if int(index) > 0:
            return token_ids[int(index) - 1], 0.0
        return None, int(wait_us) / _MICROS
