"""Per-token rate limits: a Redis limiter shared by every process, and an in-process twin.

VK judges "3 requests per rolling second" when a request *arrives*, and the road from our
grant to VK's door is never the same length twice (thread scheduling, the GIL, the network).
A limiter that grants three requests at once and the fourth exactly one second after the first
loses whenever the first travels slower than the fourth. So each token's slots are:
- counted in a sliding window of `1 s + margin`, where the margin absorbs the travel-time
  spread (this alone also keeps us within a server that counts per calendar second), and
- paced: never closer than `PACING_SHARE × window / limit` apart, so a token's slots are
  spread over the window rather than spent in a burst (a token bucket with a small burst
  allowance stays happy). Not the full `window / limit`: a grant always comes a little after
  its slot frees (a thread wakes, takes the GIL, reaches Redis), and when every slot is
  paced from the one before, that lateness adds up at every grant (measured: 0.364 s between
  a token's requests instead of 0.350, 4% of the budget). With pacing a little looser than
  the window, two grants in three have slack and only the window-bound one can be late.

The margin adapts: every error 6 VK still answers widens it by `MARGIN_STEP` (shared by every
process through Redis), and every grant narrows it back toward the configured floor by
`MARGIN_DECAY`. At equilibrium that is one error 6 per
MARGIN_STEP / MARGIN_DECAY = 125 grants at most (0.8%, under the 1% we allow ourselves), and
none when the floor suffices. A slower decay would bound errors lower but keep a widened margin
longer after a one-off stall: at 0.1 ms per grant one error 6 held the margin up for 250 grants
and cost the crawl about a second of VK's budget (bench/e2e.py), at 0.2 ms half that.

Why a Lua script rather than the `limits` library: one script call checks every candidate
token, grants a slot on the freest one, and otherwise says how long until the first slot frees,
atomically and in one round trip, on the Redis server's clock (hosts with skewed clocks still
agree). `limits` answers one key per call and only "yes/no".
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import redis

from parser_pipeline.constants import REDIS_RATE_LIMIT_PREFIX
from parser_pipeline.errors import CoordinationError

# VK counts requests per rolling second per token.
VK_RATE_WINDOW_SECONDS: Final = 1.0
# Longest single sleep while waiting for a slot: short, so a token that un-parks or a slot
# freed early by another process is noticed quickly.
MAX_LIMITER_SLEEP_SECONDS: Final = 0.25
# Pacing gap as a share of `window / limit` (see the module docstring).
PACING_SHARE: Final = 0.8
# The margin's default floor: 50 ms costs 5% of the throughput and covers the arrival spread
# measured against the emulator with latency on (bench/rate_limit.py).
DEFAULT_MARGIN_SECONDS: Final = 0.05
# How much one error 6 widens the margin, how much each grant narrows it back, and its ceiling.
MARGIN_STEP_SECONDS: Final = 0.025
MARGIN_DECAY_SECONDS: Final = 0.0002
MARGIN_CAP_SECONDS: Final = 0.5
_MICROS: Final = 1_000_000

# KEYS: one sorted set per candidate token, then the shared margin key. ARGV: limit, base
# window (µs), now (µs or "" for the server's clock), a member prefix unique to the caller,
# margin floor and decay (µs), pacing share. Returns {index of the granted key (1-based) or 0,
# µs to wait when nothing was granted}.
_PACED_WINDOW_LUA = """
local limit = tonumber(ARGV[1])
local base = tonumber(ARGV[2])
local now
if ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local floor = tonumber(ARGV[5])
local margin_key = KEYS[#KEYS]
local margin = tonumber(redis.call('GET', margin_key) or floor)
if margin < floor then margin = floor end
local window = base + margin
local gap = math.floor(window * tonumber(ARGV[7]) / limit)
local best = 0
local best_count = 0
local min_wait = -1
for i = 1, #KEYS - 1 do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  local wait = 0
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    wait = tonumber(oldest[2]) + window - now
  end
  if count > 0 then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    local paced = tonumber(newest[2]) + gap - now
    if paced > wait then wait = paced end
  end
  if wait <= 0 then
    if best == 0 or count < best_count then
      best = i
      best_count = count
    end
  elseif min_wait < 0 or wait < min_wait then
    min_wait = wait
  end
end
if best > 0 then
  redis.call('ZADD', KEYS[best], now, ARGV[4] .. ':' .. now)
  redis.call('PEXPIRE', KEYS[best], math.floor(window / 1000) + 1000)
  if margin > floor then
    local narrowed = margin - tonumber(ARGV[6])
    if narrowed < floor then narrowed = floor end
    redis.call('SET', margin_key, narrowed, 'EX', 3600)
  end
  return {best, 0}
end
if min_wait < 1 then
  min_wait = 1
end
return {0, min_wait}
"""

# KEYS: the margin key. ARGV: floor, step, cap (µs). Returns the new margin (µs).
_WIDEN_LUA = """
local margin = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if margin < tonumber(ARGV[1]) then margin = tonumber(ARGV[1]) end
margin = margin + tonumber(ARGV[2])
if margin > tonumber(ARGV[3]) then margin = tonumber(ARGV[3]) end
redis.call('SET', KEYS[1], margin, 'EX', 3600)
return margin
"""


class RateLimiter(Protocol):
    """N requests per rolling window per token id, paced."""

    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        """Take a slot on the freest of `token_ids` now: (its id, 0), or (None, seconds to wait)."""
        ...

    def widen(self) -> float:
        """VK answered error 6 despite us: widen the margin; returns it (seconds)."""
        ...


class _BlockingAcquire(ABC):
    """`acquire_any` built on `try_acquire` and an injectable sleep."""

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


def _check(limit: int, window: float, margin: float) -> None:
    if limit < 1 or window <= 0 or margin < 0:
        raise ValueError("limit must be >= 1, window_seconds > 0 and margin_seconds >= 0")


class InProcessRateLimiter(_BlockingAcquire):
    """The embedded mode's limiter: the same paced window, kept in this process's memory."""

    def __init__(
        self,
        limit: int,
        *,
        window_seconds: float = VK_RATE_WINDOW_SECONDS,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check(limit, window_seconds, margin_seconds)
        self.limit = limit
        self.base_window = window_seconds
        self.floor = margin_seconds
        self.margin = margin_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._grants: dict[str, deque[float]] = {}

    @property
    def window(self) -> float:
        return self.base_window + self.margin

    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        with self._lock:
            now = self._clock()
            window = self.window
            gap = PACING_SHARE * window / self.limit
            best: str | None = None
            best_count = 0
            min_wait: float | None = None
            for tid in token_ids:
                grants = self._grants.setdefault(tid, deque())
                while grants and grants[0] <= now - window:
                    grants.popleft()
                wait = grants[0] + window - now if len(grants) >= self.limit else 0.0
                if grants:
                    wait = max(wait, grants[-1] + gap - now)
                if wait <= 0:
                    if best is None or len(grants) < best_count:
                        best, best_count = tid, len(grants)
                else:
                    min_wait = wait if min_wait is None else min(min_wait, wait)
            if best is not None:
                self._grants[best].append(now)
                self.margin = max(self.floor, self.margin - MARGIN_DECAY_SECONDS)
                return best, 0.0
            return None, max(min_wait or 0.0, 1e-6)

    def widen(self) -> float:
        with self._lock:
            self.margin = min(
                MARGIN_CAP_SECONDS, max(self.margin, self.floor) + MARGIN_STEP_SECONDS
            )
            return self.margin


class RedisRateLimiter(_BlockingAcquire):
    """The limit shared by every process and host: one Lua paced window per token in Redis."""

    def __init__(
        self,
        client: redis.Redis[Any],
        limit: int,
        *,
        window_seconds: float = VK_RATE_WINDOW_SECONDS,
        margin_seconds: float = DEFAULT_MARGIN_SECONDS,
        prefix: str = REDIS_RATE_LIMIT_PREFIX,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        _check(limit, window_seconds, margin_seconds)
        self.limit = limit
        self.base_window = window_seconds
        self.floor = margin_seconds
        self._prefix = prefix
        self._clock = clock  # None: the Redis server's clock, the same for every host
        self._sleep = sleep
        self._client = client
        self._script = client.register_script(_PACED_WINDOW_LUA)
        self._widen = client.register_script(_WIDEN_LUA)
        self._member_prefix = f"{os.getpid()}-{id(self):x}"
        self._seq = itertools.count()

    def key(self, token_id: str) -> str:
        return f"{self._prefix}{token_id}"

    @property
    def margin_key(self) -> str:
        return f"{self._prefix}margin"

    def _unavailable(self, exc: redis.RedisError) -> CoordinationError:
        return CoordinationError(
            f"rate limiter unavailable ({type(exc).__name__}); check VKPIPE_REDIS_URL"
        )

    def try_acquire(self, token_ids: Sequence[str]) -> tuple[str | None, float]:
        now = "" if self._clock is None else str(int(self._clock() * _MICROS))
        member = f"{self._member_prefix}-{next(self._seq)}"
        try:
            index, wait_us = self._script(
                keys=[*(self.key(t) for t in token_ids), self.margin_key],
                args=[
                    self.limit,
                    int(self.base_window * _MICROS),
                    now,
                    member,
                    int(self.floor * _MICROS),
                    int(MARGIN_DECAY_SECONDS * _MICROS),
                    PACING_SHARE,
                ],
            )
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        if int(index) > 0:
            return token_ids[int(index) - 1], 0.0
        return None, int(wait_us) / _MICROS

    def widen(self) -> float:
        try:
            margin = self._widen(
                keys=[self.margin_key],
                args=[
                    int(self.floor * _MICROS),
                    int(MARGIN_STEP_SECONDS * _MICROS),
                    int(MARGIN_CAP_SECONDS * _MICROS),
                ],
            )
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return int(margin) / _MICROS

    def current_margin(self) -> float:
        """The margin every process uses now (seconds)."""
        try:
            raw = self._client.get(self.margin_key)
        except redis.RedisError as exc:
            raise self._unavailable(exc) from exc
        return max(self.floor, int(raw) / _MICROS) if raw is not None else self.floor
