"""Table tests of the backoff and retry decisions, and of their tenacity wiring."""

from __future__ import annotations

import pytest

from parser_pipeline.errors import (
    VkAccessDeniedError,
    VkError,
    VkExecuteSplitError,
    VkInvalidRequestError,
    VkNoTokensError,
    VkRateLimitError,
    VkServerError,
    VkTokenParkedError,
    VkTransportError,
)
from parser_pipeline.vk.retry import RetryPolicy, compute_backoff, retrying, should_retry


@pytest.mark.parametrize(
    ("attempt", "rng", "expected"),
    [
        (0, 1.0, 0.0),  # no failure yet, no wait
        (1, 1.0, 0.5),  # base
        (2, 1.0, 1.0),
        (3, 1.0, 2.0),
        (4, 0.5, 2.0),  # jitter scales the ceiling
        (7, 1.0, 30.0),  # 0.5 * 64 = 32 -> capped at 30
        (100, 1.0, 30.0),  # huge attempts stay capped, no overflow
        (3, 0.0, 0.0),  # full jitter reaches zero
    ],
)
def test_compute_backoff_table(attempt: int, rng: float, expected: float) -> None:
    got = compute_backoff(attempt, base=0.5, cap=30.0, rng=lambda: rng)
    assert got == pytest.approx(expected)


def test_compute_backoff_stays_within_ceiling_with_real_randomness() -> None:
    for attempt in range(1, 12):
        value = compute_backoff(attempt, base=0.5, cap=30.0)
        assert 0.0 <= value <= min(30.0, 0.5 * 2 ** (attempt - 1))


@pytest.mark.parametrize(
    ("error", "attempt", "expected"),
    [
        (VkTransportError("timeout"), 1, True),
        (VkRateLimitError("too many", code=6), 1, True),
        (VkRateLimitError("flood", code=9), 7, True),
        (VkServerError("internal", code=10), 8, False),  # attempts exhausted
        (VkServerError("unknown", code=1), 3, True),
        (VkTokenParkedError("captcha", code=14), 1, True),  # another token may succeed
        (VkAccessDeniedError("denied", code=15), 1, False),  # permanent: never
        (VkAccessDeniedError("comments closed", code=212), 1, False),
        (VkInvalidRequestError("bad param", code=100), 1, False),
        (VkExecuteSplitError("too big", code=13), 1, False),  # split, not retried as is
        (VkNoTokensError("none left"), 1, False),
        (ValueError("not ours"), 1, False),
    ],
)
def test_should_retry_table(error: BaseException, attempt: int, expected: bool) -> None:
    assert should_retry(error, attempt, max_attempts=8) is expected


def test_retrying_retries_transient_errors_then_succeeds() -> None:
    sleeps: list[float] = []
    seen: list[tuple[int, float]] = []
    answers: list[BaseException | str] = [VkServerError("x", code=10), VkTransportError("y"), "ok"]

    def flaky() -> str:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    policy = RetryPolicy(max_attempts=5, base_seconds=1.0, cap_seconds=10.0)
    retry = retrying(
        policy, on_retry=lambda e, n, d: seen.append((n, d)), sleep=sleeps.append, rng=lambda: 1.0
    )
    assert retry(flaky) == "ok"
    assert sleeps == [1.0, 2.0]
    assert seen == [(1, 1.0), (2, 2.0)]


def test_retrying_never_retries_a_permanent_error() -> None:
    calls = 0

    def denied() -> None:
        nonlocal calls
        calls += 1
        raise VkAccessDeniedError("denied", code=15, method="wall.get")

    retry = retrying(RetryPolicy(max_attempts=5), sleep=lambda _: None)
    with pytest.raises(VkAccessDeniedError):
        retry(denied)
    assert calls == 1


def test_retrying_gives_up_after_max_attempts_with_the_last_error() -> None:
    calls = 0

    def always_busy() -> None:
        nonlocal calls
        calls += 1
        raise VkRateLimitError("too many", code=6)

    retry = retrying(RetryPolicy(max_attempts=3), sleep=lambda _: None)
    with pytest.raises(VkError) as info:
        retry(always_busy)
    assert info.value.code == 6
    assert calls == 3
