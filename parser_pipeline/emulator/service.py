"""The request pipeline: token check, rate limit, fault injection, dispatch, VK-shaped JSON.

Order per request: count it; refuse a missing/unknown/revoked token (error 5, never a
fault); require `v` (error 8); apply the per-token rate limit (error 6; `execute` is one
request); draw a fault; run the method (or the execute program) and serialize.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
)
from .faults import HTML_502, FaultPlan
from .params import (
    ERROR_AUTH,
    ERROR_EXECUTE_RUNTIME,
    ERROR_FLOOD,
    ERROR_INTERNAL,
    ERROR_INVALID_REQUEST,
    ERROR_PARAM,
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


class VkService:
    """Answers `(method, params)` like VK; thread-safe (one lock around world and counters)."""

    def __init__(self, config: EmulatorConfig, world: World | None = None) -> None:
        self.config = config
        self.world = world if world is not None else World(config.scenario, config.seed)
        self.stats = Stats()
        self.tokens = set(config.tokens)
        self.revoked = set(config.revoked_tokens)
        self.limiter = RateLimiter(config.rate_limit_per_second, config.clock or time.monotonic)
        self.faults = FaultPlan(config.faults)
        self.lock = threading.RLock()

    def set_faults(self, faults: FaultConfig) -> None:
        with self.lock:
            self.faults = FaultPlan(faults)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.revoked.add(token)

    def handle(self, method: str, params: Mapping[str, str]) -> Reply:
        with self.lock:
            return self._handle(method, params)

    def _error(
        self, code: int, message: str | None, method: str, params: Mapping[str, str]
    ) -> Reply:
        exc = VkApiError(code, message)
        self.stats.errors_by_code[code] += 1
        request_params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        request_params += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        error = {"error_code": exc.code, "error_msg": exc.message, "request_params": request_params}
        return Reply(200, dumps({"error": error}))

    def _handle(self, method: str, params: Mapping[str, str]) -> Reply:
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
        if not self.limiter.allow(token):
            self.stats.rate_limited += 1
            return self._error(ERROR_TOO_MANY_RPS, None, method, params)
        is_execute = method == "execute"
        fault = self.faults.draw(token, execute=is_execute)
        if fault is not None:
            self.stats.faults_injected[fault] += 1
        if fault == FAULT_HTTP502:
            return Reply(502, HTML_502, HTML_TYPE)
        if fault in _FAULT_ERRORS:
            return self._error(_FAULT_ERRORS[fault], None, method, params)
        try:
            body = (
                self._execute(params)
                if is_execute
                else dumps({"response": self._call(method, params)})
            )
        except VkApiError as exc:
            return self._error(exc.code, exc.message, method, params)
        if fault == FAULT_TRUNCATED_JSON:
            return Reply(200, body[: max(1, len(body) // 2)])
        if fault == FAULT_SLOW:
            return Reply(200, body, delay=self.faults.config.slow_seconds)
        return Reply(200, body)

    def _call(self, method: str, params: Mapping[str, str]) -> Any:
        handler = HANDLERS.get(method)
        if handler is None:
            raise VkApiError(ERROR_UNKNOWN_METHOD)
        return handler(self.world, params)

    def _execute(self, params: Mapping[str, str]) -> bytes:
        code = params.get("code", "")
        if not code.strip():
            raise VkApiError(ERROR_PARAM, f"{MESSAGES[ERROR_PARAM]}: code is undefined")
        program = vkscript.parse(code)

        def inner(call: vkscript.Call) -> Any:
            self.stats.execute_inner_calls += 1
            self.stats.execute_inner_by_method[call.method] += 1
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
