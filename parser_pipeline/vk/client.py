"""The VK client facade: calls packed into execute, paced, rotated, budgeted, retried, honest.

One engine (`run`) serves everything: `call` is `call_many([call])[0]`, and `call_many` is
`run(...).outcomes`. Why not tenacity here: a retry must rejoin the other calls that are due,
so that retries of 25 calls go out as one `execute`, not as 25 requests; tenacity retries one
callable at a time. The backoff itself is the pure `retry.compute_backoff`; which token a request
goes out on, and what an error does to that token, is `leasing.TokenLeaser`'s business.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
import structlog

from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.errors import (
    VkError,
    VkExecuteSplitError,
    VkMethodQuotaError,
    VkNoTokensError,
    VkQuotaExhaustedError,
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
from parser_pipeline.vk.leasing import QuotaTooSmall, TokenLeaser, quota_exhausted
from parser_pipeline.vk.quota import (
    LocalQuotaLedger,
    QuotaClock,
    QuotaLedger,
    RedisQuotaLedger,
)
from parser_pipeline.vk.rate_limit import (
    InProcessRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from parser_pipeline.vk.retry import RetryPolicy, compute_backoff, should_retry
from parser_pipeline.vk.tokens import TokenLease, TokenPool
from parser_pipeline.vk.transport import VkTransport, build_session

if TYPE_CHECKING:
    import redis

    from parser_pipeline.settings import Settings

__all__ = ["CallOutcome", "Sent", "VkCall", "VkClient"]

log = structlog.get_logger(__name__)

# Retries due this soon are sent now with those due already, so they share one execute instead
# of trickling out one request each.
RETRY_GATHER_SECONDS = 0.05
# Requests one run keeps in flight when it holds more than one execute's worth of calls (group
# lookups, benchmarks); the crawl engine runs one batch per run and parallelises across runs.
MAX_PARALLEL_REQUESTS = 4
# groups.getById accepts up to 500 ids or screen names per call.
GROUPS_GET_BY_ID_MAX = 500


@dataclass(slots=True)
class Sent:
    """What one run produced: an outcome per call (input order), and the HTTP requests it took."""

    outcomes: list[CallOutcome]
    requests: int = 0


@dataclass
class _Pending:
    index: int
    call: VkCall  # as sent: parameters in VK's wire form
    original: VkCall  # as the caller gave it, returned in its outcome
    attempt: int = 1
    ready_at: float = 0.0


@dataclass
class _Run:
    """The state of one `run`: its results, its execute size (lowered by error 13), requests."""

    results: list[CallOutcome | None]
    max_calls: int = VK_EXECUTE_MAX_CALLS
    requests: int = 0
    retried: Counter[str] = field(default_factory=Counter)


class VkClient:
    """Everything the crawl needs from VK; safe to share between threads of one process."""

    def __init__(
        self,
        transport: VkTransport,
        pool: TokenPool,
        limiter: RateLimiter,
        cache: VkCache,
        *,
        ledger: QuotaLedger | None = None,
        policy: RetryPolicy | None = None,
        park_seconds: float = 60.0,
        parallel: int = MAX_PARALLEL_REQUESTS,
        counters: VkCounters | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.transport = transport
        self.pool = pool
        self.limiter = limiter
        self.cache = cache
        self.ledger: QuotaLedger = ledger if ledger is not None else LocalQuotaLedger({})
        self.policy = policy or RetryPolicy()
        self.parallel = max(1, parallel)
        self.counters = counters or VkCounters()
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.leaser = TokenLeaser(
            pool,
            limiter,
            self.ledger,
            self.counters,
            park_seconds=park_seconds,
            sleep=sleep,
            clock=clock,
            now=now,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        redis: redis.Redis[Any] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
        ledger: QuotaLedger | None = None,
    ) -> VkClient:
        """Build the client from settings; `redis` None means in-process limiter and cache."""
        limiter: RateLimiter
        quota_clock = QuotaClock(settings.vk_quota_reset, settings.vk_quota_timezone)
        quotas = settings.vk_daily_quotas
        margin = settings.vk_rate_margin_seconds
        if redis is not None:
            limiter = RedisRateLimiter(redis, settings.vk_rps_per_token, margin_seconds=margin)
            cache = VkCache(RedisCache(redis), settings.vk_cache_ttl_seconds)
            ledger = ledger or RedisQuotaLedger(redis, quotas, quota_clock)
        else:
            limiter = InProcessRateLimiter(settings.vk_rps_per_token, margin_seconds=margin)
            cache = VkCache(LocalCache(), settings.vk_cache_ttl_seconds)
            ledger = ledger or LocalQuotaLedger(quotas, quota_clock)
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
            ledger=ledger,
            policy=RetryPolicy(
                max_attempts=settings.vk_max_attempts,
                base_seconds=settings.vk_backoff_base_seconds,
                cap_seconds=settings.vk_backoff_cap_seconds,
            ),
            park_seconds=settings.vk_token_park_seconds,
            sleep=sleep,
            now=now or (lambda: datetime.now(UTC)),
        )

    # -- budgets and tokens --------------------------------------------------------------------

    def blocked_methods(self) -> dict[str, datetime]:
        """Methods whose daily quota is spent on every usable token, and when the day ends."""
        return self.leaser.blocked_methods()

    # -- one request ---------------------------------------------------------------------------

    def _request(
        self, run: _Run, method: str, params: Mapping[str, Any], needs: Mapping[str, int]
    ) -> tuple[dict[str, Any], TokenLease]:
        """One HTTP request, rotating tokens on token errors; other errors are raised typed."""
        parked_rotations = 0
        while True:
            lease = self.leaser.lease(needs)
            inner = sum(needs.values()) if method == "execute" else 0
            self.counters.request(method, inner_calls=inner)
            run.requests += 1
            try:
                return self.transport.request(method, params, lease.value()), lease
            except VkError as error:
                self.counters.error(error.code)
                self.leaser.answered(error, lease)
                if isinstance(error, VkTokenRevokedError | VkMethodQuotaError):
                    continue  # another token at once; the pool or ledger says when none is left
                if isinstance(error, VkTokenParkedError) and parked_rotations < len(self.pool):
                    parked_rotations += 1
                    continue
                raise

    # -- the facade ----------------------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call one method; returns its `response` value, or raises its typed error."""
        outcome = self.call_many([VkCall(method, dict(params or {}))])[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome.value

    def call_many(self, calls: Sequence[VkCall]) -> list[CallOutcome]:
        """Run independent calls, ≤25 per execute; outcomes in input order, value or typed error."""
        return self.run(calls).outcomes

    def run(self, calls: Sequence[VkCall]) -> Sent:
        """Run calls ≤25 per execute, retrying transient failures together; outcomes and requests.

        Calls of a method whose daily quota is spent on every token come back at once with
        VkQuotaExhaustedError (not sent, not retried). VkNoTokensError is raised.
        """
        run = _Run([None] * len(calls))
        pending = [
            _Pending(i, VkCall(c.method, normalize_params(c.params)), c)
            for i, c in enumerate(calls)
        ]
        while pending:
            now = self._clock()
            due = [p for p in pending if p.ready_at <= now + RETRY_GATHER_SECONDS]
            if not due:
                self._sleep(min(p.ready_at for p in pending) - now)
                continue
            sent_ids = {id(p) for p in due}
            pending = [p for p in pending if id(p) not in sent_ids]
            due = self._drop_spent(run, due)
            if not due:
                continue
            batches = plan_batches([p.call for p in due], max_calls=run.max_calls)
            for items, outcomes in self._send_all(run, due, batches):
                # One backoff per failed request: its calls stay together for the next execute.
                attempt = max(i.attempt for i in items)
                delay = compute_backoff(
                    attempt,
                    base=self.policy.base_seconds,
                    cap=self.policy.cap_seconds,
                    rng=self._rng,
                )
                pending.extend(self._settle(run, items, outcomes, delay))
        return Sent([r for r in run.results if r is not None], run.requests)

    def _drop_spent(self, run: _Run, due: list[_Pending]) -> list[_Pending]:
        """Calls of methods no token may call today end now with VkQuotaExhaustedError."""
        spent = self.blocked_methods()
        if not spent:
            return due
        keep: list[_Pending] = []
        for item in due:
            if item.call.method in spent:
                error = quota_exhausted([item.call.method], spent[item.call.method])
                run.results[item.index] = CallOutcome(call=item.original, error=error)
            else:
                keep.append(item)
        return keep

    def _send_all(
        self, run: _Run, due: list[_Pending], batches: list[list[VkCall]]
    ) -> Iterable[tuple[list[_Pending], list[CallOutcome]]]:
        """Send the batches, up to `parallel` at once (the limiter paces them); pair with items."""
        groups: list[list[_Pending]] = []
        position = 0
        for batch in batches:
            groups.append(due[position : position + len(batch)])
            position += len(batch)
        workers = min(self.parallel, len(batches))
        if workers <= 1:
            return [
                (items, self._send_batch(run, b)) for items, b in zip(groups, batches, strict=True)
            ]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vk-call") as executor:
            answers = list(executor.map(lambda b: self._send_batch(run, b), batches))
        return list(zip(groups, answers, strict=True))

    def _settle(
        self, run: _Run, items: list[_Pending], outcomes: list[CallOutcome], delay: float
    ) -> list[_Pending]:
        """Record final outcomes; return the calls to retry after `delay` (one log line)."""
        retry: list[tuple[_Pending, VkError]] = []
        for item, outcome in zip(items, outcomes, strict=True):
            error = outcome.error
            if error is not None and should_retry(error, item.attempt, self.policy.max_attempts):
                retry.append((item, error))
                continue
            if error is not None and not isinstance(error, VkQuotaExhaustedError):
                log.info(
                    "vk.call_failed",
                    method=error.method,
                    code=error.code,
                    error=type(error).__name__,
                    attempts=item.attempt,
                )
            run.results[item.index] = CallOutcome(
                call=item.original, value=outcome.value, error=error
            )
        if not retry:
            return []
        if all(isinstance(error, VkTokenError) for _, error in retry):
            delay = 0.0  # the token was parked, dropped or budgeted: another one can go at once
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

    def _send_batch(self, run: _Run, batch: list[VkCall]) -> list[CallOutcome]:
        """One request for `batch` (plain when alone, else execute); splits on error 13."""
        needs = Counter(call.method for call in batch)
        if len(batch) == 1:
            call = batch[0]
            try:
                body, _ = self._request(run, call.method, call.params, needs)
            except VkNoTokensError:
                raise
            except QuotaTooSmall:
                until = self.leaser.blocked_methods().get(call.method, self.leaser.day_end())
                error = quota_exhausted([call.method], until)
                return [CallOutcome(call=call, error=error)]
            except VkError as error:
                return [CallOutcome(call=call, error=_for_call(error, call))]
            return [CallOutcome(call=call, value=body["response"])]
        try:
            body, lease = self._request(run, "execute", {"code": build_execute_code(batch)}, needs)
        except VkNoTokensError:
            raise
        except QuotaTooSmall:
            # No token has quota for all of these calls together: smaller executes spread
            # them over the tokens' rest (down to single calls, which end spent if none can).
            return [o for half in split_batch(batch) for o in self._send_batch(run, half)]
        except VkExecuteSplitError:
            self.counters.split()
            halves = split_batch(batch)
            run.max_calls = min(run.max_calls, len(halves[0]))
            log.info("vk.execute_split", calls=len(batch), halves=[len(h) for h in halves])
            return [o for half in halves for o in self._send_batch(run, half)]
        except VkError as error:
            return [CallOutcome(call=c, error=_for_call(error, c)) for c in batch]
        outcomes = decode_execute(batch, body)
        for outcome in outcomes:
            if outcome.error is not None:
                self.counters.error(outcome.error.code)
                self.leaser.answered(outcome.error, lease)
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
    if isinstance(error, VkQuotaExhaustedError):
        return error
    return type(error)(error.vk_message, code=error.code, method=call.method, params=call.params)
