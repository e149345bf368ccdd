"""The retry policy: which VK errors are worth another attempt, and how long to wait first."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, Retrying, stop_after_attempt

from parser_pipeline.errors import VkError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, for at most `max_attempts` tries of a call."""

    max_attempts: int = 8
    base_seconds: float = 0.5
    cap_seconds: float = 30.0


def compute_backoff(
    attempt: int, *, base: float, cap: float, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to wait after failed attempt n (from 1): uniform in [0, min(cap, base*2^(n-1))).

    Full jitter (AWS architecture blog, "Exponential Backoff And Jitter") spreads the retries of
    many workers that failed together, which is what a VK hiccup produces.
    """
    if attempt < 1:
        return 0.0
    exponent = min(attempt - 1, 62)  # 2**62 seconds is already past any cap; avoids huge floats
    ceiling = min(cap, base * (2.0**exponent))
    return max(0.0, ceiling * rng())


def should_retry(error: BaseException, attempt: int, max_attempts: int) -> bool:
    """True when `error` is transient (or another token may succeed) and attempts remain."""
    if attempt >= max_attempts:
        return False
    return isinstance(error, VkError) and error.retryable


def retrying(
    policy: RetryPolicy,
    *,
    on_retry: Callable[[BaseException, int, float], None] | None = None,
    sleep: Callable[[float], None] | None = None,
    rng: Callable[[], float] = random.random,
) -> Retrying:
    """A tenacity `Retrying` that follows `policy` using the pure functions above."""

    def _wait(state: RetryCallState) -> float:
        return compute_backoff(
            state.attempt_number, base=policy.base_seconds, cap=policy.cap_seconds, rng=rng
        )

    def _retry(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        return error is not None and should_retry(error, state.attempt_number, policy.max_attempts)

    def _before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        if on_retry is not None and error is not None:
            on_retry(error, state.attempt_number, delay)

    kwargs: dict[str, Any] = {}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return Retrying(
        wait=_wait,
        retry=_retry,
        stop=stop_after_attempt(policy.max_attempts),
        before_sleep=_before_sleep,
        reraise=True,
        **kwargs,
    )
