"""The in-process sliding-window limiter, on a fake clock."""

from __future__ import annotations

import pytest

from parser_pipeline.vk.rate_limit import InProcessRateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_limit_per_rolling_window_per_token() -> None:
    t = FakeTime()
    limiter = InProcessRateLimiter(3, clock=t.clock, sleep=t.sleep)
    assert [limiter.try_acquire(["a"])[0] for _ in range(3)] == ["a", "a", "a"]
    granted, wait = limiter.try_acquire(["a"])
    assert granted is None
    assert wait == pytest.approx(1.0)
    assert limiter.try_acquire(["b"])[0] == "b"  # another token has its own window
    t.now = 0.999
    assert limiter.try_acquire(["a"])[0] is None
    t.now = 1.0
    assert limiter.try_acquire(["a"])[0] == "a"


def test_try_acquire_picks_the_least_loaded_free_token() -> None:
    t = FakeTime()
    limiter = InProcessRateLimiter(3, clock=t.clock, sleep=t.sleep)
    limiter.try_acquire(["a"])
    limiter.try_acquire(["a"])
    limiter.try_acquire(["b"])
    assert limiter.try_acquire(["a", "b", "c"])[0] == "c"
    assert limiter.try_acquire(["a", "b"])[0] == "b"


def test_acquire_waits_without_failing_and_reports_the_wait() -> None:
    t = FakeTime()
    limiter = InProcessRateLimiter(3, clock=t.clock, sleep=t.sleep)
    waits = [limiter.acquire("a") for _ in range(9)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert sum(waits) == pytest.approx(2.0)
    assert t.now == pytest.approx(2.0)  # 9 grants at 3/s need exactly two more windows


def test_sustained_rate_never_exceeds_the_limit_in_any_window() -> None:
    t = FakeTime()
    limiter = InProcessRateLimiter(3, window_seconds=1.0, clock=t.clock, sleep=t.sleep)
    grants = []
    for _ in range(30):
        limiter.acquire_any(["a", "b"])
        grants.append(t.now)
    for i, start in enumerate(grants):
        assert sum(1 for g in grants[i:] if g < start + 1.0) <= 6


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="limit"):
        InProcessRateLimiter(0)
    with pytest.raises(ValueError, match="at least one"):
        InProcessRateLimiter(1).acquire_any([])
