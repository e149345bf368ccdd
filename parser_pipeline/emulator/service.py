"""The request pipeline: token check, rate limit, fault injection, dispatch, VK-shaped JSON.

Order per request: count it; refuse a missing/unknown/revoked token (error 5, never a
fault); require `v` (error 8); apply the per-token rate limit (error 6; `execute` is one
request); apply the daily quota of the method (error 29; an execute's inner calls count against
their own methods, and a refused one is a `false` slot); draw a fault; run the method (or the
execute program) and serialize; the answer waits its drawn latency.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import execute as vkscript
from .api import HANDLERS
from .config import (
    FAULT_ERROR6_BURST,
    FAULT_ERROR9,
    FAULT_ERROR10,
    FAULT_HTTP502,
    FAULT_SLOW,
    FAULT_TRUNCATED_JSON,
    EmulatorConfig,
    FaultConfig,
    LatencyConfig,
)
from .faults import HTML_502, FaultPlan
from .model import derive_seed
from .params import (
    ERROR_AUTH,
    ERROR_EXECUTE_RUNTIME,
    ERROR_FLOOD,
    ERROR_INTERNAL,
    ERROR_INVALID_REQUEST,
    ERROR_PARAM,
    ERROR_QUOTA,
    ERROR_TOO_MANY_RPS,
    ERROR_UNKNOWN_METHOD,
    MESSAGES,
    VkApiError,
)
from .ratelimit import RateLimiter
from .stats import Stats
from .world import World

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html"
# VK refuses execute answers that are too big (error 13); 5 MB is our stand-in for its cap.
EXECUTE_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
NO_TOKEN_MESSAGE = "User authorization failed: no access_token passed."  # noqa: S105
REVOKED_TOKEN_MESSAGE = "User authorization failed: invalid session."  # noqa: S105
_FAULT_ERRORS = {FAULT_ERROR9: ERROR_FLOOD, FAULT_ERROR10: ERROR_INTERNAL,
                 FAULT_ERROR6_BURST: ERROR_TOO_MANY_RPS}  # fmt: skip


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = JSON_TYPE
    delay: float = 0.0


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


class Latency:
    """Draws travel and answer times from a LatencyConfig's seed (see config.LatencyConfig)."""

    def __init__(self, config: LatencyConfig) -> None:
        self.config = config
        self._rng = random.Random(derive_seed("latency", config.seed))

    def uplink(self) -> float:
        return self.config.uplink_seconds * self._rng.random() if self.config.enabled else 0.0

    def answer(self, inner_calls: int) -> float:
        c = self.config
        if not c.enabled:
            return 0.0
        seconds = (c.base_seconds + c.per_call_seconds * inner_calls) * self._rng.uniform(
            1 - c.spread, 1 + c.spread
        )
        if c.slow_share and self._rng.random() < c.slow_share:
            seconds *= c.slow_factor
        return seconds


class QuotaBook:
    """Calls per token, per method, per quota day; `new_day()` starts the next day at once."""

    def __init__(self, config: EmulatorConfig, world_now: Callable[[], float]) -> None:
        self.limits = dict(config.daily_quotas)
        self.zone = ZoneInfo(config.quota_timezone)
        self.reset_hour = config.quota_reset_hour
        self.clock = world_now if config.quota_time == "world" else time.time
        self.day_offset = 0
        self.used: Counter[tuple[str, str, str]] = Counter()

    def day(self) -> str:
        local = datetime.fromtimestamp(self.clock(), self.zone) - timedelta(hours=self.reset_hour)
        return (local.date() + timedelta(days=self.day_offset)).isoformat()

    def spend(self, token: str, method: str) -> bool:
        """Count one call; False (nothing counted) when the token's quota of it is spent."""
        limit = self.limits.get(method)
        if limit is None:
            return True
        key = (self.day(), token, method)
        if self.used[key] >= limit:
            return False
        self.used[key] += 1
        return True

    def new_day(self) -> None:
        self.day_offset += 1

    def usage(self) -> dict[str, dict[str, int]]:
        """Today's calls by token and method."""
        today = self.day()
        out: dict[str, dict[str, int]] = {}
        for (day, token, method), count in self.used.items():
            if day == today:
                out.setdefault(token, {})[method] = count
        return out


class VkService:
    """Answers `(method, params)` like VK; thread-safe (one lock around world and counters)."""

    def __init__(self, config: EmulatorConfig, world: World | None = None) -> None:
        self.config = config
        self.world = world if world is not None else World(config.scenario, config.seed)
        self.stats = Stats()
        self.tokens = set(config.tokens)
        self.revoked = set(config.revoked_tokens)
        self.clock = config.clock or time.monotonic
        self.limiter = RateLimiter(config.rate_limit_per_second, self.clock)
        self.faults = FaultPlan(config.faults)
        self.latency = Latency(config.latency)
        self.quotas = QuotaBook(config, lambda: float(self.world.now))
        self.lock = threading.RLock()

    def set_faults(self, faults: FaultConfig) -> None:
        with self.lock:
            self.faults = FaultPlan(faults)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.revoked.add(token)

    def new_day(self) -> None:
        with self.lock:
            self.quotas.new_day()

    def uplink_delay(self) -> float:
        with self.lock:
            return self.latency.uplink()

    def handle(
        self, method: str, params: Mapping[str, str], arrived_at: float | None = None
    ) -> Reply:
        """The answer to one request; `arrived_at` (on `clock`) is when it reached "VK", which
        the rate limit judges (default: now)."""
        with self.lock:
            return self._handle(method, params, arrived_at)

    def _error(
        self, code: int, message: str | None, method: str, params: Mapping[str, str]
    ) -> Reply:
        exc = VkApiError(code, message)
        self.stats.errors_by_code[code] += 1
        request_params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        request_params += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        error = {"error_code": exc.code, "error_msg": exc.message, "request_params": request_params}
        return Reply(200, dumps({"error": error}))

    def _handle(self, method: str, params: Mapping[str, str], arrived_at: float | None) -> Reply:
        token = params.get("access_token", "")
        self.stats.total_requests += 1
        self.stats.requests_by_method[method] += 1
        self.stats.requests_by_token[token] += 1
        if not token:
            return self._error(ERROR_AUTH, NO_TOKEN_MESSAGE, method, params)
        if token in self.revoked:
            return self._error(ERROR_AUTH, REVOKED_TOKEN_MESSAGE, method, params)
        if token not in self.tokens:
            return self._error(ERROR_AUTH, None, method, params)
        if not params.get("v"):
            return self._error(ERROR_INVALID_REQUEST, None, method, params)
        if not self.limiter.allow(token, arrived_at):
            self.stats.rate_limited += 1
            return self._error(ERROR_TOO_MANY_RPS, None, method, params)
        is_execute = method == "execute"
        if not is_execute and not self.quotas.spend(token, method):
            self.stats.quota_refused += 1
            return self._error(ERROR_QUOTA, None, method, params)
        fault = self.faults.draw(token, execute=is_execute)
        if fault is not None:
            self.stats.faults_injected[fault] += 1
        if fault == FAULT_HTTP502:
            return Reply(502, HTML_502, HTML_TYPE)
        if fault in _FAULT_ERRORS:
            return self._error(_FAULT_ERRORS[fault], None, method, params)
        inner_calls = [0]
        try:
            body = (
                self._execute(token, params, inner_calls)
                if is_execute
                else dumps({"response": self._call(method, params)})
            )
        except VkApiError as exc:
            return self._error(exc.code, exc.message, method, params)
        delay = self.latency.answer(inner_calls[0])
        if fault == FAULT_TRUNCATED_JSON:
            return Reply(200, body[: max(1, len(body) // 2)], delay=delay)
        if fault == FAULT_SLOW:
            delay += self.faults.config.slow_seconds
        return Reply(200, body, delay=delay)

    def _call(self, method: str, params: Mapping[str, str]) -> Any:
        handler = HANDLERS.get(method)
        if handler is None:
            raise VkApiError(ERROR_UNKNOWN_METHOD)
        return handler(self.world, params)

    def _execute(self, token: str, params: Mapping[str, str], inner_calls: list[int]) -> bytes:
        code = params.get("code", "")
        if not code.strip():
            raise VkApiError(ERROR_PARAM, f"{MESSAGES[ERROR_PARAM]}: code is undefined")
        program = vkscript.parse(code)

        def inner(call: vkscript.Call) -> Any:
            inner_calls[0] += 1
            self.stats.execute_inner_calls += 1
            self.stats.execute_inner_by_method[call.method] += 1
            if not self.quotas.spend(token, call.method):
                self.stats.quota_refused += 1
                raise VkApiError(ERROR_QUOTA)
            if self.faults.draw_inner():
                self.stats.faults_injected[FAULT_ERROR10] += 1
                raise VkApiError(ERROR_INTERNAL)
            return self._call(call.method, call.params)

        body = dumps(vkscript.run(program, inner))
        if len(body) > EXECUTE_MAX_RESPONSE_BYTES:
            raise VkApiError(
                ERROR_EXECUTE_RUNTIME,
                f"{MESSAGES[ERROR_EXECUTE_RUNTIME]}: response size is too big",
            )
        return body
