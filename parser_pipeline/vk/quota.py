"""VK's daily quotas: calls per token, per method, per day; error 29 past them (VK_API.md).

A ledger counts what each token spent on each method in the current quota day and refuses a
reservation past the configured quota (`VKPIPE_VK_DAILY_QUOTAS`, e.g. `wall.get=5000`). A
method VK answered error 29 for is spent on that token until the day ends, whatever was
counted. Calls inside an `execute` count against their own method. The day ends at a
configured time in a configured zone (default: midnight, Moscow time).

Two ledgers: `RedisQuotaLedger`, shared by every process of a fleet (one Lua script checks and
counts atomically), and `LocalQuotaLedger`, in this process's memory, which the in-process
runner saves into the database (`store/quota.py`) so its counts outlive the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import redis
import structlog

from parser_pipeline.constants import REDIS_QUOTA_PREFIX
from parser_pipeline.errors import CoordinationError

log = structlog.get_logger(__name__)

# A quota day's keys outlive the day by this much (a process still finishing at midnight).
KEY_TTL_SECONDS = 2 * 86_400


@dataclass(frozen=True, slots=True)
class QuotaClock:
    """Where quota days begin: `reset` o'clock in `zone`."""

    reset: time = time(0, 0)
    zone: str = "Europe/Moscow"

    def day(self, now: datetime) -> tuple[str, datetime]:
        """The quota day `now` falls in (YYYY-MM-DD of its start) and when it ends (aware)."""
        local = now.astimezone(ZoneInfo(self.zone))
        start = local.replace(
            hour=self.reset.hour, minute=self.reset.minute, second=0, microsecond=0
        )
        if local < start:
            start -= timedelta(days=1)
        return start.date().isoformat(), start + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One token's standing for one method today: calls used, the quota, and whether VK said 29."""

    token_id: str
    method: str
    used: int
    limit: int | None
    exhausted: bool

    @property
    def remaining(self) -> int | None:
        if self.exhausted:
            return 0
        return None if self.limit is None else max(0, self.limit - self.used)


class QuotaLedger(Protocol):
    clock: QuotaClock

    def reserve(self, token_id: str, needs: Mapping[str, int], now: datetime) -> bool:
        """Count `needs` (method -> calls) against the token if all fit; False (nothing
        counted) when one does not."""
        ...

    def exhaust(self, token_id: str, method: str, now: datetime) -> None:
        """VK answered 29: the method is spent on this token until the day ends."""
        ...

    def states(self, token_ids: Sequence[str], now: datetime) -> list[QuotaState]:
        """Today's standing of every token for every method with a quota or a 29."""
        ...

    def announce(self, method: str, now: datetime) -> bool:
        """True the first time today anyone asks to tell that `method` is spent (so the
        operator is told once, not once per process or per pass)."""
        ...


def blocked_methods(
    ledger: QuotaLedger, token_ids: Sequence[str], now: datetime
) -> dict[str, datetime]:
    """Methods no token can call any more today, with the time the day ends."""
    if not token_ids:
        return {}
    _, ends = ledger.clock.day(now)
    spent: dict[str, set[str]] = {}
    for state in ledger.states(token_ids, now):
        if state.remaining == 0:
            spent.setdefault(state.method, set()).add(state.token_id)
    return {m: ends for m, tokens in spent.items() if tokens >= set(token_ids)}


def describe_spent(
    states: Sequence[QuotaState], hints: Mapping[str, str], ends: datetime
) -> list[str]:
    """One line per method spent on every token, for people: what, how many tokens, until when."""
    by_method: dict[str, list[QuotaState]] = {}
    for state in states:
        by_method.setdefault(state.method, []).append(state)
    lines = []
    for method, rows in sorted(by_method.items()):
        if rows and all(r.remaining == 0 for r in rows):
            lines.append(
                f"the daily quota of {method} is spent on all {len(rows)} tokens "
                f"({', '.join(hints.get(r.token_id, r.token_id) for r in rows)}) until "
                f"{ends:%Y-%m-%d %H:%M %Z}: crawls that need it wait for then"
            )
    return lines


class LocalQuotaLedger:
    """The ledger in this process's memory; `pending()` hands over counts to save elsewhere."""

    def __init__(self, limits: Mapping[str, int], clock: QuotaClock | None = None) -> None:
        self.limits = dict(limits)
        self.clock = clock or QuotaClock()
        self._lock = threading.Lock()
        self._day = ""
        self._used: dict[tuple[str, str], int] = {}
        self._out: set[tuple[str, str]] = set()
        self._unsaved: dict[tuple[str, str], int] = {}
        self._unsaved_out: set[tuple[str, str]] = set()
        self._announced: set[tuple[str, str]] = set()

    def _roll(self, now: datetime) -> str:
        day, _ = self.clock.day(now)
        if day != self._day:
            self._day = day
            self._used.clear()
            self._out.clear()
            self._unsaved.clear()
            self._unsaved_out.clear()
        return day

    def load(self, day: str, rows: Iterable[tuple[str, str, int, bool]]) -> None:
        """Counts saved earlier today (token_id, method, used, exhausted)."""
        with self._lock:
            self._day = day
            for token_id, method, used, exhausted in rows:
                self._used[(token_id, method)] = used
                if exhausted:
                    self._out.add((token_id, method))

    def reserve(self, token_id: str, needs: Mapping[str, int], now: datetime) -> bool:
        with self._lock:
            self._roll(now)
            for method, count in needs.items():
                key = (token_id, method)
                if key in self._out:
                    return False
                limit = self.limits.get(method)
                if limit is not None and self._used.get(key, 0) + count > limit:
                    return False
            for method, count in needs.items():
                key = (token_id, method)
                self._used[key] = self._used.get(key, 0) + count
                self._unsaved[key] = self._unsaved.get(key, 0) + count
            return True

    def exhaust(self, token_id: str, method: str, now: datetime) -> None:
        with self._lock:
            self._roll(now)
            self._out.add((token_id, method))
            self._unsaved_out.add((token_id, method))

    def states(self, token_ids: Sequence[str], now: datetime) -> list[QuotaState]:
        with self._lock:
            self._roll(now)
            methods = set(self.limits) | {m for _, m in self._out}
            return [
                QuotaState(t, m, self._used.get((t, m), 0), self.limits.get(m), (t, m) in self._out)
                for t in token_ids
                for m in sorted(methods)
            ]

    def announce(self, method: str, now: datetime) -> bool:
        with self._lock:
            day = self._roll(now)
            key = (day, method)
            if key in self._announced:
                return False
            self._announced.add(key)
            return True

    def pending(self) -> tuple[str, dict[tuple[str, str], int], set[tuple[str, str]]]:
        """Counts and 29s since the last call, for saving: (day, used deltas, exhausted)."""
        with self._lock:
            unsaved, out = self._unsaved, self._unsaved_out
            self._unsaved, self._unsaved_out = {}, set()
            return self._day, unsaved, out


# KEYS: [1] the token's hash of used counts for the day, [2] its set of exhausted methods.
# ARGV: ttl, then (method, count, limit or -1) triples. Returns 1 when counted, 0 when refused.
_RESERVE_LUA = """
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  local method = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local limit = tonumber(ARGV[i + 2])
  if redis.call('SISMEMBER', KEYS[2], method) == 1 then
    return 0
  end
  if limit >= 0 then
    local used = tonumber(redis.call('HGET', KEYS[1], method) or '0')
    if used + count > limit then
      return 0
    end
  end
end
for i = 2, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""


class RedisQuotaLedger:
    """The ledger every process of a fleet shares; a lost Redis only forgets today's counts
    (VK's error 29 then teaches them again)."""

    def __init__(
        self,
        client: redis.Redis[Any],
        limits: Mapping[str, int],
        clock: QuotaClock | None = None,
        *,
        prefix: str = REDIS_QUOTA_PREFIX,
    ) -> None:
        self.limits = dict(limits)
        self.clock = clock or QuotaClock()
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_RESERVE_LUA)

    def _keys(self, token_id: str, now: datetime) -> tuple[str, str]:
        day, _ = self.clock.day(now)
        base = f"{self._prefix}{day}:{token_id}"
        return base, base + ":out"

    def reserve(self, token_id: str, needs: Mapping[str, int], now: datetime) -> bool:
        args: list[Any] = [KEY_TTL_SECONDS]
        for method, count in needs.items():
            args += [method, count, self.limits.get(method, -1)]
        try:
            return bool(self._script(keys=list(self._keys(token_id, now)), args=args))
        except redis.RedisError as exc:
            raise CoordinationError(
                f"quota ledger unavailable ({type(exc).__name__}); check VKPIPE_REDIS_URL"
            ) from exc

    def exhaust(self, token_id: str, method: str, now: datetime) -> None:
        _, out = self._keys(token_id, now)
        try:
            pipe = self._client.pipeline()
            pipe.sadd(out, method)
            pipe.expire(out, KEY_TTL_SECONDS)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("vk.quota_ledger_unavailable", error=type(exc).__name__)

    def announce(self, method: str, now: datetime) -> bool:
        day, _ = self.clock.day(now)
        try:
            first = self._client.set(
                f"{self._prefix}{day}:told:{method}", "1", nx=True, ex=KEY_TTL_SECONDS
            )
        except redis.RedisError:
            return True  # better told twice than not at all
        return bool(first)

    def states(self, token_ids: Sequence[str], now: datetime) -> list[QuotaState]:
        states: list[QuotaState] = []
        try:
            for token_id in token_ids:
                used_key, out_key = self._keys(token_id, now)
                used = {k.decode(): int(v) for k, v in self._client.hgetall(used_key).items()}
                out = {m.decode() for m in self._client.smembers(out_key)}
                for method in sorted(set(self.limits) | out):
                    states.append(
                        QuotaState(
                            token_id,
                            method,
                            used.get(method, 0),
                            self.limits.get(method),
                            method in out,
                        )
                    )
        except redis.RedisError as exc:
            raise CoordinationError(
                f"quota ledger unavailable ({type(exc).__name__}); check VKPIPE_REDIS_URL"
            ) from exc
        return states
