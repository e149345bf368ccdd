"""The VK client facade: one call or many (packed into execute), paced, rotated, retried, honest."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
import structlog

from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.errors import (
    VkError,
    VkExecuteSplitError,
    VkNoTokensError,
    VkRateLimitError,
    VkTokenError,
    VkTokenParkedError,
    VkTokenRevokedError,
)
from parser_pipeline.vk.batching import (
    CallOutcome,
    VkCall,
    build_execute_code,
    decode_execute,
    normalize_params,
    plan_batches,
    split_batch,
)
from parser_pipeline.vk.cache import LocalCache, RedisCache, VkCache, group_ref
from parser_pipeline.vk.counters import VkCounters
from parser_pipeline.vk.rate_limit import (
    MAX_LIMITER_SLEEP_SECONDS,
    VK_RATE_WINDOW_SECONDS,
    InProcessRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from parser_pipeline.vk.retry import RetryPolicy, compute_backoff, retrying, should_retry
from parser_pipeline.vk.tokens import TokenLease, TokenPool
from parser_pipeline.vk.transport import VkTransport, build_session

if TYPE_CHECKING:
    import redis

    from parser_pipeline.settings import Settings

__all__ = ["CallOutcome", "VkCall", "VkClient"]

log = structlog.get_logger(__name__)

# Added to VK's one-second window: a request granted at the window's edge can reach VK before
# its predecessor three slots back (network jitter), and VK would count four in a second.
# 30 ms costs 3% of the throughput and keeps error 6 well under 1% (bench/rate_limit.py).
LIMITER_WINDOW_MARGIN_SECONDS = 0.03
# How long a token sits out after error 6 or 9 despite our limiter (someone else uses the token,
# or VK tightened its limit): one rolling window. If it persists, the calls' own backoff grows.
RATE_LIMIT_PARK_SECONDS = 1.0
# Retries due this soon are sent now with those due already, so they share one execute instead
# of trickling out one request each.
RETRY_GATHER_SECONDS = 0.05
# Requests one call_many keeps in flight. VK answers a 25-call execute in roughly 0.3-0.5 s, so
# four in flight keep 3 tokens x 3 req/s busy from one process; more would only queue at the
# limiter (which paces them whatever this number is).
MAX_PARALLEL_REQUESTS = 4
# groups.getById accepts up to 500 ids or screen names per call.
GROUPS_GET_BY_ID_MAX = 500


@dataclass
class _Pending:
    index: int
    call: VkCall  # as sent: parameters in VK's wire form
    original: VkCall  # as the caller gave it, returned in its outcome
    attempt: int = 1
    ready_at: float = 0.0


class VkClient:
    """Everything the crawl needs from VK; safe to share between threads of one process."""

    def __init__(
        self,
        transport: VkTransport,
        pool: TokenPool,
        limiter: RateLimiter,
        cache: VkCache,
        *,
        policy: RetryPolicy | None = None,
        park_seconds: float = 60.0,
        parallel: int = MAX_PARALLEL_REQUESTS,
        counters: VkCounters | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.transport = transport
        self.pool = pool
        self.limiter = limiter
        self.cache = cache
        self.policy = policy or RetryPolicy()
        self.park_seconds = park_seconds
        self.parallel = max(1, parallel)
        self.counters = counters or VkCounters()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        redis: redis.Redis[Any] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> VkClient:
        """Build the client from settings; `redis` None means in-process limiter and cache."""
        window = VK_RATE_WINDOW_SECONDS + LIMITER_WINDOW_MARGIN_SECONDS
        limiter: RateLimiter
        if redis is not None:
            limiter = RedisRateLimiter(redis, settings.vk_rps_per_token, window_seconds=window)
            cache = VkCache(RedisCache(redis), settings.vk_cache_ttl_seconds)
        else:
            limiter = InProcessRateLimiter(settings.vk_rps_per_token, window_seconds=window)
            cache = VkCache(LocalCache(), settings.vk_cache_ttl_seconds)
        http = build_session(
            settings.vk_api_url,
            connect_timeout=settings.vk_connect_timeout_seconds,
            read_timeout=settings.vk_read_timeout_seconds,
            session=session,
        )
        return cls(
            VkTransport(http, api_version=settings.vk_api_version),
            TokenPool(settings.tokens()),
            limiter,
            cache,
            policy=RetryPolicy(
                max_attempts=settings.vk_max_attempts,
                base_seconds=settings.vk_backoff_base_seconds,
                cap_seconds=settings.vk_backoff_cap_seconds,
            ),
            park_seconds=settings.vk_token_park_seconds,
            sleep=sleep,
        )

    # -- one request -------------------------------------------------------------------------

    def _lease(self) -> TokenLease:
        """The token that can go soonest, once the limiter grants a slot (waiting is no retry)."""
        waited = 0.0
        try:
            while True:
                leases, park_wait = self.pool.available()
                if not leases:
                    log.info("vk.tokens_all_parked", wait=round(park_wait, 3))
                    self._sleep(park_wait)
                    waited += park_wait
                    continue
                granted, wait = self.limiter.try_acquire([lease.id for lease in leases])
                if granted is not None:
                    lease = next(lease for lease in leases if lease.id == granted)
                    self.pool.mark_used(lease)
                    return lease
                pause = min(wait, MAX_LIMITER_SLEEP_SECONDS)
                self._sleep(pause)
                waited += pause
        finally:
            self.counters.limiter_wait(waited)

    def _request(
        self, method: str, params: Mapping[str, Any], *, inner_calls: int = 0
    ) -> tuple[dict[str, Any], TokenLease]:
        """One HTTP request, rotating tokens on token errors; other errors are raised typed."""
        parked_rotations = 0
        while True:
            lease = self._lease()
            self.counters.request(method, inner_calls=inner_calls)
            try:
                return self.transport.request(method, params, lease.value()), lease
            except VkError as error:
                self.counters.error(error.code)
                self._handle_token_side(error, lease)
                if isinstance(error, VkTokenRevokedError):
                    continue  # another token, at once; the pool raises when none is left
                if isinstance(error, VkTokenParkedError) and parked_rotations < len(self.pool):
                    parked_rotations += 1
                    continue
                raise

    def _handle_token_side(self, error: VkError, lease: TokenLease) -> None:
        """Drop or park the token that drew `error` when the error is about the token."""
        if isinstance(error, VkTokenRevokedError):
            self.pool.drop(lease, reason=f"VK error {error.code}: {error.vk_message}")
            self.counters.token_dropped()
        elif isinstance(error, VkTokenParkedError):
            self.pool.park(lease, self.park_seconds, reason=f"VK error {error.code}")
            self.counters.token_parked()
        elif isinstance(error, VkRateLimitError):
            self.pool.park(lease, RATE_LIMIT_PARK_SECONDS, reason=f"VK error {error.code}")
            self.counters.token_parked()

    # -- the facade ----------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call one method; returns its `response` value, retrying transient errors per policy."""
        wire = normalize_params(params or {})

        def _once() -> Any:
            return self._request(method, wire)[0]["response"]

        return retrying(self.policy, on_retry=self._on_retry, sleep=self._sleep, rng=self._rng)(
            _once
        )

    def _on_retry(self, error: BaseException, attempt: int, delay: float) -> None:
        self.counters.retry()
        code = error.code if isinstance(error, VkError) else None
        method = error.method if isinstance(error, VkError) else ""
        log.info("vk.retry", method=method, attempt=attempt, delay=round(delay, 3), code=code)

    def call_many(self, calls: Sequence[VkCall]) -> list[CallOutcome]:
        """Run independent calls, ≤25 per execute; outcomes in input order, value or typed error."""
        results: list[CallOutcome | None] = [None] * len(calls)
        pending = [
            _Pending(i, VkCall(c.method, normalize_params(c.params)), c)
            for i, c in enumerate(calls)
        ]
        limit = [VK_EXECUTE_MAX_CALLS]  # lowered when execute answers 13, for later rounds
        while pending:
            now = self._clock()
            due = [p for p in pending if p.ready_at <= now + RETRY_GATHER_SECONDS]
            if not due:
                self._sleep(min(p.ready_at for p in pending) - now)
                continue
            sent = {id(p) for p in due}
            pending = [p for p in pending if id(p) not in sent]
            batches = plan_batches([p.call for p in due], max_calls=limit[0])
            for items, outcomes in self._send_all(due, batches, limit):
                # One backoff per failed request: its calls stay together for the next execute.
                attempt = max(i.attempt for i in items)
                delay = compute_backoff(
                    attempt,
                    base=self.policy.base_seconds,
                    cap=self.policy.cap_seconds,
                    rng=self._rng,
                )
                pending.extend(self._settle(items, outcomes, results, delay))
        return [r for r in results if r is not None]

    def _send_all(
        self, due: list[_Pending], batches: list[list[VkCall]], limit: list[int]
    ) -> Iterator[tuple[list[_Pending], list[CallOutcome]]]:
        """Send the batches, up to `parallel` at once (the limiter paces them); pair with items."""
        groups: list[list[_Pending]] = []
        position = 0
        for batch in batches:
            groups.append(due[position : position + len(batch)])
            position += len(batch)
        workers = min(self.parallel, len(batches))
        if workers <= 1:
            for items, batch in zip(groups, batches, strict=True):
                yield items, self._send_batch(batch, limit)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vk-call") as pool:
            answers = pool.map(lambda batch: self._send_batch(batch, limit), batches)
            yield from zip(groups, answers, strict=True)

    def _settle(
        self,
        items: list[_Pending],
        outcomes: list[CallOutcome],
        results: list[CallOutcome | None],
        delay: float,
    ) -> list[_Pending]:
        """Record final outcomes; return the calls to retry after `delay` (one log line)."""
        retry: list[tuple[_Pending, VkError]] = []
        for item, outcome in zip(items, outcomes, strict=True):
            error = outcome.error
            if error is not None and should_retry(error, item.attempt, self.policy.max_attempts):
                retry.append((item, error))
                continue
            if error is not None:
                log.info(
                    "vk.call_failed",
                    method=error.method,
                    code=error.code,
                    error=type(error).__name__,
                    attempts=item.attempt,
                )
            results[item.index] = CallOutcome(call=item.original, value=outcome.value, error=error)
        if not retry:
            return []
        if all(isinstance(error, VkTokenError) for _, error in retry):
            delay = 0.0  # the token was parked or dropped: another one can go at once
        first = retry[0][1]
        self.counters.retry(len(retry))
        log.info(
            "vk.retry",
            method=first.method,
            code=first.code,
            calls=len(retry),
            attempt=max(item.attempt for item, _ in retry),
            delay=round(delay, 3),
        )
        for item, _ in retry:
            item.attempt += 1
            item.ready_at = self._clock() + delay
        return [item for item, _ in retry]

    def _send_batch(self, batch: list[VkCall], limit: list[int]) -> list[CallOutcome]:
        """One request for `batch` (plain when alone, else execute); splits on error 13."""
        if len(batch) == 1:
            call = batch[0]
            try:
                body, _ = self._request(call.method, call.params)
            except VkNoTokensError:
                raise
            except VkError as error:
                return [CallOutcome(call=call, error=error)]
            return [CallOutcome(call=call, value=body["response"])]
        try:
            body, lease = self._request(
                "execute", {"code": build_execute_code(batch)}, inner_calls=len(batch)
            )
        except VkNoTokensError:
            raise
        except VkExecuteSplitError:
            self.counters.split()
            halves = split_batch(batch)
            limit[0] = min(limit[0], len(halves[0]))
            log.info("vk.execute_split", calls=len(batch), halves=[len(h) for h in halves])
            return [o for half in halves for o in self._send_batch(half, limit)]
        except VkError as error:
            return [CallOutcome(call=c, error=_for_call(error, c)) for c in batch]
        outcomes = decode_execute(batch, body)
        for outcome in outcomes:
            if outcome.error is not None:
                self.counters.error(outcome.error.code)
                self._handle_token_side(outcome.error, lease)
        return outcomes

    # -- cached helpers ------------------------------------------------------------------------

    def resolve_screen_name(self, name: str) -> Any:
        """`utils.resolveScreenName` through the cache: `{"type", "object_id"}` or `[]`."""
        cached = self.cache.get_resolved(name)
        if cached is not None:
            return cached
        answer = self.call("utils.resolveScreenName", {"screen_name": name})
        self.cache.put_resolved(name, answer)
        return answer

    def get_groups(self, ids_or_names: Iterable[int | str]) -> list[dict[str, Any]]:
        """Group cards (`groups.getById`) for ids or screen names, in input order, via the cache."""
        refs = [str(r).strip() for r in ids_or_names if str(r).strip()]
        found: dict[str, dict[str, Any]] = {}
        missed: dict[str, None] = {}  # ordered set
        for ref in refs:
            card = self.cache.get_group(ref)
            if card is not None:
                found[ref] = card
            else:
                missed[ref] = None
        misses = list(missed)
        for start in range(0, len(misses), GROUPS_GET_BY_ID_MAX):
            chunk = misses[start : start + GROUPS_GET_BY_ID_MAX]
            answer = self.call("groups.getById", {"group_ids": ",".join(chunk)})
            groups = answer.get("groups", []) if isinstance(answer, dict) else answer
            for group in groups if isinstance(groups, list) else []:
                names = {str(group.get("id")), str(group.get("screen_name", "")).lower()}
                asked = [r for r in chunk if group_ref(r) in names]
                self.cache.put_group(group, *asked)
                for ref in asked:
                    found[ref] = group
        return [found[r] for r in refs if r in found]

    def invalidate_group(self, id_or_screen_name: int | str) -> None:
        """Forget cached answers about a group (call after the group was edited)."""
        self.cache.invalidate_group(id_or_screen_name)

    def close(self) -> None:
        self.transport.close()


def _for_call(error: VkError, call: VkCall) -> VkError:
    """The same error, re-addressed to one call of a failed execute (method and params)."""
    return type(error)(error.vk_message, code=error.code, method=call.method, params=call.params)
