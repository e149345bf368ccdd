"""The in-process paced window on a fake clock: pacing, the window, the margin, and jitter."""

from __future__ import annotations

import heapq
import random
from collections import deque

import pytest

from parser_pipeline.vk.rate_limit import (
    MARGIN_CAP_SECONDS,
    MARGIN_DECAY_SECONDS,
    MARGIN_STEP_SECONDS,
    PACING_SHARE,
    InProcessRateLimiter,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def limiter_on(t: FakeTime, limit: int = 3, margin: float = 0.05) -> InProcessRateLimiter:
    return InProcessRateLimiter(limit, margin_seconds=margin, clock=t.clock, sleep=t.sleep)


def test_slots_of_one_token_are_paced_not_burst() -> None:
    t = FakeTime()
    limiter = limiter_on(t)
    gap = PACING_SHARE * 1.05 / 3
    assert limiter.try_acquire(["a"]) == ("a", 0.0)
    granted, wait = limiter.try_acquire(["a"])
    assert granted is None
    assert wait == pytest.approx(gap)
    t.now = gap - 0.001
    assert limiter.try_acquire(["a"])[0] is None
    t.now = gap
    assert limiter.try_acquire(["a"])[0] == "a"
    assert limiter.try_acquire(["b"])[0] == "b"  # another token has its own pace


def test_a_late_taker_loses_its_lateness_once_per_window_not_at_every_grant() -> None:
    """Threads reach a freed slot a little late (waking, the GIL). Paced from the grant
    before, every grant would pass that lateness on to the next (30 grants at 10 ms late:
    0.3 s lost); with pacing looser than the window only the window-bound grant is late."""
    t = FakeTime()
    limiter = limiter_on(t)
    late = 0.01
    assert limiter.try_acquire(["a"])[0] == "a"
    for _ in range(30):
        while (wait := limiter.try_acquire(["a"])[1]) > 0:
            t.now += wait + late
    assert t.now == pytest.approx(10 * (1.05 + late))


def test_never_more_than_the_limit_in_any_window_of_one_second_plus_margin() -> None:
    t = FakeTime()
    limiter = limiter_on(t)
    grants: dict[str, list[float]] = {"a": [], "b": []}
    for _ in range(60):
        token, _ = limiter.acquire_any(["a", "b"])
        grants[token].append(t.now)
    for times in grants.values():
        for i, start in enumerate(times):
            assert sum(1 for g in times[i:] if g < start + 1.05) <= 3
    assert t.now == pytest.approx(60 / 6 * 1.05, rel=0.05)  # and the budget is used


def test_try_acquire_picks_the_least_loaded_free_token() -> None:
    t = FakeTime()
    limiter = limiter_on(t)
    limiter.try_acquire(["a"])
    t.now = 0.4
    limiter.try_acquire(["a"])
    limiter.try_acquire(["b"])
    t.now = 0.8
    assert limiter.try_acquire(["a", "b", "c"])[0] == "c"  # nothing in its window
    assert limiter.try_acquire(["a", "b"])[0] == "b"  # one in its window, against two


def test_error_6_widens_the_margin_and_grants_narrow_it_back_to_the_floor() -> None:
    t = FakeTime()
    limiter = limiter_on(t, margin=0.05)
    assert limiter.widen() == pytest.approx(0.05 + MARGIN_STEP_SECONDS)
    for _ in range(100):
        limiter.widen()
    assert limiter.margin == pytest.approx(MARGIN_CAP_SECONDS)
    limiter.margin = 0.05 + MARGIN_STEP_SECONDS
    for _ in range(10):
        limiter.acquire_any(["a"])
    assert limiter.margin == pytest.approx(0.05 + MARGIN_STEP_SECONDS - 10 * MARGIN_DECAY_SECONDS)
    for _ in range(1000):
        limiter.acquire_any(["a"])
    assert limiter.margin == pytest.approx(0.05)


def _jittered_run(
    margin: float, jitter: float, *, adapt: bool, seconds: float = 600.0, seed: int = 5
) -> tuple[float, float]:
    """Three tokens used flat out; each request reaches VK `jitter` × U(0, 1) after its grant,
    VK refuses a 4th request inside a rolling second (judged on arrival) with error 6, and the
    client hears of it `ANSWER_SECONDS` later (then widens the margin, when `adapt`).
    Returns (share of requests refused, requests per second / the limit of 9)."""
    answer_seconds = 0.3
    t = FakeTime()
    limiter = limiter_on(t, margin=margin)
    rng = random.Random(seed)
    in_flight: list[tuple[float, str]] = []  # (arrival, token), a heap
    heard: list[float] = []  # when refusals come back, a heap
    seen: dict[str, deque[float]] = {"a": deque(), "b": deque(), "c": deque()}
    sent = refused = 0

    def arrive_until(now: float) -> None:
        nonlocal refused
        while in_flight and in_flight[0][0] <= now:
            at, token = heapq.heappop(in_flight)
            window = seen[token]
            while window and window[0] <= at - 1.0:
                window.popleft()
            if len(window) >= 3:
                refused += 1
                heapq.heappush(heard, at + answer_seconds)
            else:
                window.append(at)
        while heard and heard[0] <= now:
            heapq.heappop(heard)
            if adapt:
                limiter.widen()

    while t.now < seconds:
        token, _ = limiter.acquire_any(["a", "b", "c"])
        arrive_until(t.now)
        heapq.heappush(in_flight, (t.now + jitter * rng.random(), token))
        sent += 1
    arrive_until(float("inf"))
    return refused / sent, sent / seconds / 9


def test_paced_window_holds_under_arrival_jitter_at_over_90_percent_of_the_limit() -> None:
    refused, utilization = _jittered_run(margin=0.05, jitter=0.04, adapt=False)
    assert refused == 0
    assert utilization >= 0.9


def test_without_a_margin_jitter_costs_error_6() -> None:
    refused, _ = _jittered_run(margin=0.0, jitter=0.04, adapt=False)
    assert refused > 0.01


def test_the_margin_adapts_when_jitter_outgrows_it() -> None:
    # 150 ms of spread against a 50 ms floor: without adapting, many refusals; adapting, the
    # margin grows until they are rare.
    fixed, _ = _jittered_run(margin=0.05, jitter=0.15, adapt=False)
    adapted, utilization = _jittered_run(margin=0.05, jitter=0.15, adapt=True)
    assert fixed > 0.01
    assert adapted < 0.01
    assert utilization >= 0.8


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="limit"):
        InProcessRateLimiter(0)
    with pytest.raises(ValueError, match="margin"):
        InProcessRateLimiter(3, margin_seconds=-1)
    with pytest.raises(ValueError, match="at least one"):
        InProcessRateLimiter(1).acquire_any([])
