"""The leaser's short-lived answer to "which methods are spent on every token" never outlives
the quota day it was computed in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from parser_pipeline.vk.counters import VkCounters
from parser_pipeline.vk.leasing import BLOCKED_METHODS_TTL_SECONDS, TokenLeaser
from parser_pipeline.vk.quota import LocalQuotaLedger, QuotaClock
from parser_pipeline.vk.rate_limit import InProcessRateLimiter
from parser_pipeline.vk.tokens import TokenPool, token_id

TOKENS = ("lease-token-a", "lease-token-b")
CLOCK = QuotaClock(time(0, 0), "UTC")


def test_a_spent_method_is_not_reported_spent_after_the_day_ends_even_from_the_cache() -> None:
    ends = datetime(2026, 11, 11, tzinfo=UTC)
    wall = {"now": ends - timedelta(seconds=0.2)}
    monotonic = {"t": 100.0}
    ledger = LocalQuotaLedger({"wall.get": 1}, CLOCK)
    for token in TOKENS:
        assert ledger.reserve(token_id(token), {"wall.get": 1}, wall["now"])
    leaser = TokenLeaser(
        TokenPool(TOKENS, clock=lambda: monotonic["t"]),
        InProcessRateLimiter(3, clock=lambda: monotonic["t"], sleep=lambda _s: None),
        ledger,
        VkCounters(),
        park_seconds=1.0,
        sleep=lambda _s: None,
        clock=lambda: monotonic["t"],
        now=lambda: wall["now"],
    )
    assert leaser.blocked_methods() == {"wall.get": ends}

    # The day ends well within the cached answer's lifetime.
    wall["now"] = ends + timedelta(seconds=0.1)
    monotonic["t"] += 0.3
    assert monotonic["t"] - 100.0 < BLOCKED_METHODS_TTL_SECONDS
    assert leaser.blocked_methods() == {}
