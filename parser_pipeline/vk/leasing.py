"""Token leasing: a token with a rate-limit slot and daily quota for one request, and the token's
side of VK's answers (revoked tokens dropped, busy ones parked, spent quotas recorded)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

import structlog

from parser_pipeline.errors import (
    VkError,
    VkMethodQuotaError,
    VkQuotaExhaustedError,
    VkRateLimitError,
    VkTokenParkedError,
    VkTokenRevokedError,
)
from parser_pipeline.vk.counters import VkCounters
from parser_pipeline.vk.quota import QuotaLedger, blocked_methods
from parser_pipeline.vk.rate_limit import MAX_LIMITER_SLEEP_SECONDS, RateLimiter
from parser_pipeline.vk.tokens import TokenLease, TokenPool

log = structlog.get_logger(__name__)

# How long a token sits out after error 6 or 9 despite our limiter (someone else uses the token,
# or VK tightened its limit): one rolling window. If it persists, the calls' own backoff grows.
RATE_LIMIT_PARK_SECONDS = 1.0
# How long the answer "which methods are spent on every token" is reused: asking the ledger
# costs a Redis round trip per token, and a quota day is long.
BLOCKED_METHODS_TTL_SECONDS = 1.0


class QuotaTooSmall(Exception):  # a signal between the leaser and the client, never raised out
    """Tokens have quota left for `needs`' methods, but none for all of `needs` at once."""

    def __init__(self, needs: Mapping[str, int]) -> None:
        super().__init__(dict(needs))
        self.needs = dict(needs)


def quota_exhausted(methods: Iterable[str], resets_at: datetime) -> VkQuotaExhaustedError:
    """The error of calls whose method no token may call again before `resets_at`."""
    names = tuple(sorted(set(methods)))
    return VkQuotaExhaustedError(
        f"the daily quota of {', '.join(names)} is spent on every token until "
        f"{resets_at.isoformat(timespec='minutes')}",
        methods=names,
        resets_at=resets_at,
    )


class TokenLeaser:
    """Hands out tokens for requests under the pool, the limiter and the quota ledger."""

    def __init__(
        self,
        pool: TokenPool,
        limiter: RateLimiter,
        ledger: QuotaLedger,
        counters: VkCounters,
        *,
        park_seconds: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self.pool = pool
        self.limiter = limiter
        self.ledger = ledger
        self.counters = counters
        self.park_seconds = park_seconds
        self._sleep = sleep
        self._clock = clock
        self._now = now
        self._blocked: tuple[float, dict[str, datetime]] = (float("-inf"), {})

    def blocked_methods(self) -> dict[str, datetime]:
        """Methods whose daily quota is spent on every usable token, and when the day ends."""
        at, value = self._blocked
        if self._clock() - at < BLOCKED_METHODS_TTL_SECONDS:
            # Never past the day's end: a method spent until then is not spent after it (the
            # dispatcher would hold its calls back and tell the operator again in the new day).
            now = self._now()
            return {method: until for method, until in value.items() if now < until}
        value = blocked_methods(self.ledger, self.pool.usable_ids(), self._now())
        self._blocked = (self._clock(), value)
        return value

    def day_end(self) -> datetime:
        """When the current quota day ends."""
        return self.ledger.clock.day(self._now())[1]

    def lease(self, needs: Mapping[str, int]) -> TokenLease:
        """A token with a limiter slot and quota for `needs` (waiting is no retry).

        Raises VkQuotaExhaustedError when a method in `needs` is spent on every usable token,
        QuotaTooSmall when tokens have some left, but none enough for all of `needs`, and
        VkNoTokensError (from the pool) when every token was dropped.
        """
        waited = 0.0
        refused: set[str] = set()  # tokens whose quota cannot take `needs` today
        try:
            while True:
                leases, park_wait = self.pool.available()
                now = self._now()
                spent = self.blocked_methods()
                hit = [m for m in needs if m in spent]
                if hit:
                    raise quota_exhausted(hit, min(spent[m] for m in hit))
                candidates = [lease for lease in leases if lease.id not in refused]
                if leases and not candidates:
                    raise QuotaTooSmall(needs)
                if not candidates:
                    log.info("vk.tokens_all_parked", wait=round(park_wait, 3))
                    self._sleep(park_wait)
                    waited += park_wait
                    continue
                granted, wait = self.limiter.try_acquire([lease.id for lease in candidates])
                if granted is not None:
                    lease = next(lease for lease in candidates if lease.id == granted)
                    if not self.ledger.reserve(lease.id, needs, now):
                        refused.add(lease.id)  # its quota ran out, here or in another process
                        self._blocked = (float("-inf"), {})
                        continue
                    self.pool.mark_used(lease)
                    return lease
                pause = min(wait, MAX_LIMITER_SLEEP_SECONDS)
                self._sleep(pause)
                waited += pause
        finally:
            self.counters.limiter_wait(waited)

    def answered(self, error: VkError, lease: TokenLease) -> None:
        """Drop, park or budget the token that drew `error` when the error is about the token."""
        if isinstance(error, VkTokenRevokedError):
            self.pool.drop(lease, reason=f"VK error {error.code}: {error.vk_message}")
            self.counters.token_dropped()
        elif isinstance(error, VkMethodQuotaError):
            self.ledger.exhaust(lease.id, error.method, self._now())
            self._blocked = (float("-inf"), {})
            log.warning("vk.method_quota_spent", token=lease.hint, method=error.method)
        elif isinstance(error, VkTokenParkedError):
            self.pool.park(lease, self.park_seconds, reason=f"VK error {error.code}")
            self.counters.token_parked()
        elif isinstance(error, VkRateLimitError):
            self.pool.park(lease, RATE_LIMIT_PARK_SECONDS, reason=f"VK error {error.code}")
            self.counters.token_parked()
            if error.code == 6:
                margin = self.limiter.widen()
                log.info("vk.rate_margin_widened", margin=round(margin, 3))
