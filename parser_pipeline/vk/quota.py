"""VK's daily quotas: calls per token, per method, per day; error 29 past them (VK_API.md).

A ledger counts what each token spent on each method in the current quota day and refuses a
reservation past the configured quota (`VKPIPE_VK_DAILY_QUOTAS`, e.g. `wall.get=5000`). Calls
inside an `execute` count against their own method. The day ends at a configured time in a
configured zone (default: midnight, Moscow time).

VK does not publish when its day ends, so a configured reset is a guess. A method VK answered
error 29 for therefore rests on that token for an hour (or until our day ends, if sooner), and
is then tried again: one refused request an hour per token is what a wrong guess costs, where
resting until our own day's end could lose most of VK's day, every day.

Two ledgers: `RedisQuotaLedger`, shared by every process of a fleet (one Lua script checks and
counts atomically), and `LocalQuotaLedger`, in this process's memory, which the in-process
runner saves into the database (`store/quota.py`) so its counts outlive the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import redis
import structlog

from parser_pipeline.constants import REDIS_QUOTA_PREFIX
from parser_pipeline.errors import CoordinationError

log = structlog.get_logger(__name__)

# A quota day's keys outlive the day by this much (a process still finishing at midnight).
KEY_TTL_SECONDS = 2 * 86_400
# How long a token rests from a method after VK's error 29 before it is tried again.
REST_AFTER_29 = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class QuotaClock:
    """Where quota days begin: `reset` o'clock in `zone`."""

    reset: time = time(0, 0)
    zone: str = "Europe/Moscow"

    def day(self, now: datetime) -> tuple[str, datetime]:
        """The quota day `now` falls in (YYYY-MM-DD of its start) and when it ends (aware)."""
        local = now.astimezone(ZoneInfo(self.zone))
        start = local.replace(
            hour=self.reset.hour, minute=self.reset.minute, second=self.reset.second, microsecond=0
        )
        if local < start:
            start -= timedelta(days=1)
        return start.date().isoformat(), start + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class QuotaState:
    """One token's standing for one method today: calls used, the quota, and until when the
    token rests from the method after VK's error 29 (None: it does not)."""

    token_id: str
    method: str
    used: int
    limit: int | None
    resting_until: datetime | None = None

    @property
    def remaining(self) -> int | None:
        if self.resting_until is not None:
            return 0
        return None if self.limit is None else max(0, self.limit - self.used)

    def usable_again(self, day_ends: datetime) -> datetime | None:
        """When the token may call the method again (None: it may now)."""
        if self.limit is not None and self.used >= self.limit:
            return day_ends
        return self.resting_until


def rest_until(now: datetime, day_ends: datetime) -> datetime:
    """Until when a token rests from a method VK answered error 29 for at `now`."""
    return min(now + REST_AFTER_29, day_ends)


class QuotaLedger(Protocol):
    clock: QuotaClock

    def reserve(self, token_id: str, needs: Mapping[str, int], now: datetime) -> bool:
        """Count `needs` (method -> calls) against the token if all fit; False (nothing
        counted) when one does not."""
        ...

    def exhaust(self, token_id: str, method: str, now: datetime) -> None:
        """VK answered 29 to one call: the token rests from the method (`rest_until`), and the
        call, which VK did not serve, is taken off the count."""
        ...

    def states(self, token_ids: Sequence[str], now: datetime) -> list[QuotaState]:
        """Today's standing of every token for every method with a quota or a 29."""
        ...

    def announce(self, method: str, now: datetime) -> bool:
        """True the first time today anyone asks to tell that `method` is spent (so the
        operator is told once, not once per process or per pass)."""
        ...


def spent_methods(states: Sequence[QuotaState], ends: datetime) -> dict[str, datetime]:
    """Methods no token in `states` can call now, each with the first time one of them can."""
    by_method: dict[str, list[datetime | None]] = {}
    for state in states:
        by_method.setdefault(state.method, []).append(state.usable_again(ends))
    return {
        method: min(t for t in times if t is not None)
        for method, times in by_method.items()
        if times and None not in times
    }


def blocked_methods(
    ledger: QuotaLedger, token_ids: Sequence[str], now: datetime
) -> dict[str, datetime]:
    """Methods no token can call now, with the first time one of them can again."""
    if not token_ids:
        return {}
    _, ends = ledger.clock.day(now)
    return spent_methods(ledger.states(token_ids, now), ends)


def describe_spent(
    states: Sequence[QuotaState], hints: Mapping[str, str], ends: datetime
) -> list[str]:
    """One line per method spent on every token, for people: what, how many tokens, until when."""
    lines = []
    for method, until in sorted(spent_methods(states, ends).items()):
        rows = [s for s in states if s.method == method]
        lines.append(
            f"the daily quota of {method} is spent on all {len(rows)} tokens "
            f"({', '.join(hints.get(r.token_id, r.token_id) for r in rows)}) until "
            f"{until.astimezone(ends.tzinfo):%Y-%m-%d %H:%M %Z}: crawls that need it wait for then"
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
        self._resting: dict[tuple[str, str], datetime] = {}
        self._unsaved: dict[tuple[str, str], int] = {}
        self._unsaved_resting: dict[tuple[str, str], datetime] = {}
        self._announced: set[tuple[str, str]] = set()

    def _roll(self, now: datetime) -> str:
        day, _ = self.clock.day(now)
        if day != self._day:
            self._day = day
            self._used.clear()
            self._resting.clear()
            self._unsaved.clear()
            self._unsaved_resting.clear()
        return day

    def _rests(self, key: tuple[str, str], now: datetime) -> datetime | None:
        until = self._resting.get(key)
        return until if until is not None and now < until else None

    def load(self, day: str, rows: Iterable[tuple[str, str, int, datetime | None]]) -> None:
        """Counts saved earlier today (token_id, method, used, resting_until)."""
        with self._lock:
            self._day = day
            for token_id, method, used, resting_until in rows:
                self._used[(token_id, method)] = used
                if resting_until is not None:
                    self._resting[(token_id, method)] = resting_until

    def reserve(self, token_id: str, needs: Mapping[str, int], now: datetime) -> bool:
        with self._lock:
            self._roll(now)
            for method, count in needs.items():
                key = (token_id, method)
                if self._rests(key, now) is not None:
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
            key = (token_id, method)
            until = rest_until(now, self.clock.day(now)[1])
            self._resting[key] = until
            self._unsaved_resting[key] = until
            if self._used.get(key, 0) > 0:
                self._used[key] -= 1
                self._unsaved[key] = self._unsaved.get(key, 0) - 1

    def states(self, token_ids: Sequence[str], now: datetime) -> list[QuotaState]:
        with self._lock:
            self._roll(now)
            methods = set(self.limits) | {m for _, m in self._resting}
            return [
                QuotaState(
                    t, m, self._used.get((t, m), 0), self.limits.get(m), self._rests((t, m), now)
                )
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

    def pending(
        self,
    ) -> tuple[str, dict[tuple[str, str], int], dict[tuple[str, str], datetime]]:
        """Counts and 29s since the last call, for saving: (day, used deltas, resting until)."""
        with self._lock:
            unsaved, resting = self._unsaved, self._unsaved_resting
            self._unsaved, self._unsaved_resting = {}, {}
            return self._day, unsaved, resting


# KEYS: [1] the token's hash of used counts for the day, [2] its hash of methods resting after
# error 29 (method -> unix time the rest ends). ARGV: ttl, now (unix time), then (method, count,
# limit or -1) triples. Returns 1 when counted, 0 when refused.
_RESERVE_LUA = """
local ttl = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
for i = 3, #ARGV, 3 do
  local method = ARGV[i]
  local count = tonumber(ARGV[i + 1])
  local limit = tonumber(ARGV[i + 2])
  local resting = redis.call('HGET', KEYS[2], method)
  if resting and tonumber(resting) > now then
    return 0
  end
  if limit >= 0 then
    local used = tonumber(redis.call('HGET', KEYS[1], method) or '0')
    if used + count > limit then
      return 0
    end
  end
end
for i = 3, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
end
redis.call('EXPIRE', KEYS[1], ttl)
return 1
"""


# KEYS: [1] used counts, [2] resting methods (as above). ARGV: ttl, method, rest end (unix time).
_EXHAUST_LUA = """
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
if tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[2], -1)
end
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
        self._exhaust = client.register_script(_EXHAUST_LUA)

    def _keys(self, token_id: str, now: datetime) -> tuple[str, str]:
        day, _ = self.clock.day(now)
        base = f"{self._prefix}{day}:{token_id}"
        return base, base + ":resting"

    def reserve(self, token_id: str, needs: Mapping[str, int], now: datetime) -> bool:
        args: list[Any] = [KEY_TTL_SECONDS, now.timestamp()]
        for method, count in needs.items():
            args += [method, count, self.limits.get(method, -1)]
        try:
            return bool(self._script(keys=list(self._keys(token_id, now)), args=args))
        except redis.RedisError as exc:
            raise CoordinationError(
                f"quota ledger unavailable ({type(exc).__name__}); check VKPIPE_REDIS_URL"
            ) from exc

    def exhaust(self, token_id: str, method: str, now: datetime) -> None:
        until = rest_until(now, self.clock.day(now)[1])
        used, resting = self._keys(token_id, now)
        try:
            self._exhaust(keys=[used, resting], args=[KEY_TTL_SECONDS, method, until.timestamp()])
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
                used_key, resting_key = self._keys(token_id, now)
                used = {k.decode(): int(v) for k, v in self._client.hgetall(used_key).items()}
                resting = {
                    k.decode(): datetime.fromtimestamp(float(v), UTC)
                    for k, v in self._client.hgetall(resting_key).items()
                }
                for method in sorted(set(self.limits) | set(resting)):
                    until = resting.get(method)
                    states.append(
                        QuotaState(
                            token_id,
                            method,
                            used.get(method, 0),
                            self.limits.get(method),
                            until if until is not None and now < until else None,
                        )
                    )
        except redis.RedisError as exc:
            raise CoordinationError(
                f"quota ledger unavailable ({type(exc).__name__}); check VKPIPE_REDIS_URL"
            ) from exc
        return states
