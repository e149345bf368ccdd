"""The daily quota ledgers, in memory and in Redis alike: counting, refusing, the day's end, and
the hour's rest after VK's error 29 (VK's own day may end later than the configured one)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from parser_pipeline.vk.quota import (
    REST_AFTER_29,
    LocalQuotaLedger,
    QuotaClock,
    QuotaLedger,
    RedisQuotaLedger,
    blocked_methods,
    describe_spent,
)

MOSCOW = ZoneInfo("Europe/Moscow")
# Days end at 03:00:30 Moscow time: seconds count.
CLOCK = QuotaClock(time(3, 0, 30), "Europe/Moscow")
LIMITS = {"wall.get": 3, "wall.getComments": 10}
TOKENS = ["tok-a", "tok-b"]


def at(hour: int, minute: int = 0, second: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=MOSCOW).astimezone(UTC)


@pytest.fixture(params=["memory", "redis"])
def ledger(request: pytest.FixtureRequest) -> Iterator[QuotaLedger]:
    if request.param == "memory":
        yield LocalQuotaLedger(LIMITS, CLOCK)
        return
    request.applymarker(pytest.mark.redis)
    client: redis.Redis[Any] = request.getfixturevalue("redis_client")
    yield RedisQuotaLedger(client, LIMITS, CLOCK, prefix="test-quota:")


def test_the_quota_day_ends_at_the_configured_second_in_its_zone() -> None:
    assert CLOCK.day(at(3, 0, 29)) == (
        "2026-11-09",
        datetime(2026, 11, 10, 3, 0, 30, tzinfo=MOSCOW),
    )
    assert CLOCK.day(at(3, 0, 30)) == (
        "2026-11-10",
        datetime(2026, 11, 11, 3, 0, 30, tzinfo=MOSCOW),
    )


def test_calls_are_counted_per_token_and_method_and_refused_past_the_quota(
    ledger: QuotaLedger,
) -> None:
    now = at(12)
    assert ledger.reserve("tok-a", {"wall.get": 2, "wall.getComments": 5}, now)
    assert not ledger.reserve("tok-a", {"wall.get": 2}, now), "2 + 2 calls exceed 3"
    assert ledger.reserve("tok-a", {"wall.get": 1}, now)
    # All or nothing: the refused execute counted none of its calls.
    assert not ledger.reserve("tok-a", {"wall.getComments": 1, "wall.get": 1}, now)
    assert ledger.reserve("tok-a", {"wall.getComments": 5}, now)
    assert ledger.reserve("tok-b", {"wall.get": 3}, now), "each token has its own quota"
    assert ledger.reserve("tok-a", {"groups.getById": 1000}, now), "no quota: never refused"
    used = {(s.token_id, s.method): (s.used, s.remaining) for s in ledger.states(TOKENS, now)}
    assert used == {
        ("tok-a", "wall.get"): (3, 0),
        ("tok-a", "wall.getComments"): (10, 0),
        ("tok-b", "wall.get"): (3, 0),
        ("tok-b", "wall.getComments"): (0, 10),
    }
    ends = datetime(2026, 11, 11, 3, 0, 30, tzinfo=MOSCOW)
    assert blocked_methods(ledger, TOKENS, now) == {"wall.get": ends}


def test_a_new_day_starts_every_count_afresh(ledger: QuotaLedger) -> None:
    assert ledger.reserve("tok-a", {"wall.get": 3}, at(3, 0, 29))
    assert not ledger.reserve("tok-a", {"wall.get": 1}, at(3, 0, 29))
    assert ledger.reserve("tok-a", {"wall.get": 3}, at(3, 0, 30))


def test_after_error_29_a_token_rests_an_hour_then_is_tried_again(ledger: QuotaLedger) -> None:
    # Our day began at 03:00:30, VK's has not: VK answers 29 though nothing was counted.
    hit = at(3, 1)
    assert ledger.reserve("tok-a", {"wall.get": 1}, hit)
    ledger.exhaust("tok-a", "wall.get", hit)
    [state] = [s for s in ledger.states(["tok-a"], hit) if s.method == "wall.get"]
    assert (state.used, state.remaining) == (0, 0), "the refused call is not counted"
    assert not ledger.reserve("tok-a", {"wall.get": 1}, hit + REST_AFTER_29 - timedelta(seconds=1))
    assert ledger.reserve("tok-b", {"wall.get": 1}, hit), "other tokens call it meanwhile"
    assert ledger.reserve("tok-a", {"wall.getComments": 1}, hit), "and other methods"
    assert ledger.reserve("tok-a", {"wall.get": 3}, hit + REST_AFTER_29), "the whole quota"


def test_a_rest_ends_no_later_than_the_day(ledger: QuotaLedger) -> None:
    hit = at(2, 40, day=11)  # twenty minutes before the day ends
    ledger.exhaust("tok-a", "wall.get", hit)
    assert not ledger.reserve("tok-a", {"wall.get": 1}, at(3, 0, 29, day=11))
    assert ledger.reserve("tok-a", {"wall.get": 1}, at(3, 0, 30, day=11))


def test_blocked_methods_name_the_first_time_any_token_may_call_again(
    ledger: QuotaLedger,
) -> None:
    now = at(12)
    ledger.exhaust("tok-a", "wall.get", now)
    assert blocked_methods(ledger, TOKENS, now) == {}, "tok-b may still call it"
    assert ledger.reserve("tok-b", {"wall.get": 3}, now)
    later = now + timedelta(minutes=10)
    ledger.exhaust("tok-b", "wall.getComments", later)
    # wall.get: tok-a rests an hour, tok-b counted out for the day: tok-a comes back first.
    assert blocked_methods(ledger, TOKENS, later) == {"wall.get": now + REST_AFTER_29}
    hints = {"tok-a": "…aaaa", "tok-b": "…bbbb"}
    states = ledger.states(TOKENS, later)
    [line] = describe_spent(states, hints, CLOCK.day(later)[1])
    assert line.startswith("the daily quota of wall.get is spent on all 2 tokens (…aaaa, …bbbb)")
    assert "until 2026-11-10 13:00 MSK" in line
    assert blocked_methods(ledger, TOKENS, now + REST_AFTER_29) == {}


def test_a_saved_day_is_loaded_with_its_counts_and_rests() -> None:
    first = LocalQuotaLedger(LIMITS, CLOCK)
    now = at(12)
    first.reserve("tok-a", {"wall.get": 2}, now)
    first.exhaust("tok-b", "wall.get", now)
    day, used, resting = first.pending()
    assert first.pending() == (day, {}, {}), "handed over once"
    second = LocalQuotaLedger(LIMITS, CLOCK)
    second.load(day, [(t, m, used.get((t, m), 0), resting.get((t, m))) for t, m in used | resting])
    assert not second.reserve("tok-a", {"wall.get": 2}, now)
    assert second.reserve("tok-a", {"wall.get": 1}, now)
    assert not second.reserve("tok-b", {"wall.get": 1}, now)
    assert second.reserve("tok-b", {"wall.get": 1}, now + REST_AFTER_29)
