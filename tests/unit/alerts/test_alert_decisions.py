"""Alert decisions as tables: grouping, digests, spikes, quiet hours, cooldown, retries."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from parser_pipeline.alerts.decisions import (
    MAX_RETRY_AFTER_SECONDS,
    TELEGRAM_MAX_CHARS,
    Ranked,
    detect_spike,
    digest_due,
    fit_text,
    group_instant,
    hourly_counts,
    next_attempt,
    parse_quiet_hours,
    parse_retry_after,
    quiet_until,
    send_at,
    top_items,
)
from parser_pipeline.errors import ConfigError

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


@pytest.mark.parametrize(
    ("count", "per_message", "sizes"),
    [(0, 20, []), (1, 20, [1]), (20, 20, [20]), (21, 20, [20, 1]), (45, 20, [20, 20, 5])],
)
def test_instant_comments_arriving_together_are_grouped(
    count: int, per_message: int, sizes: list[int]
) -> None:
    groups = group_instant(list(range(count)), per_message)
    assert [len(g) for g in groups] == sizes
    assert [i for g in groups for i in g] == list(range(count))


def test_top_items_rank_by_keywords_then_likes_then_newest() -> None:
    items = {
        "a": Ranked(1, 50, T0),
        "b": Ranked(2, 0, T0),
        "c": Ranked(1, 50, T0 + minutes(1)),
        "d": Ranked(0, 999, T0),
    }
    assert top_items(list(items), items.__getitem__, 3) == ["b", "c", "a"]


@pytest.mark.parametrize(
    ("now", "last", "every", "at", "due"),
    [
        (T0, T0 - minutes(59), 60, None, False),
        (T0, T0 - minutes(60), 60, None, True),
        (T0, T0 - minutes(600), 60, None, True),
        # once a day at 09:00 UTC: due when 09:00 passed since the last one
        (T0, T0 - minutes(60), None, time(9, 0), False),  # last at 11:00, 09:00 was before
        (T0, T0 - timedelta(hours=4), None, time(9, 0), True),  # last at 08:00
        (T0.replace(hour=8), T0 - timedelta(days=2), None, time(9, 0), True),  # yesterday's 09:00
        (T0.replace(hour=8), T0.replace(hour=7) - minutes(1), None, time(9, 0), False),
        (T0.replace(hour=9), T0.replace(hour=8, minute=59), None, time(9, 0), True),
    ],
)
def test_digest_due(
    now: datetime, last: datetime, every: int | None, at: time | None, due: bool
) -> None:
    assert digest_due(now, last, every_minutes=every, at=at) is due


@pytest.mark.parametrize(
    ("history", "current", "k", "min_count", "spike"),
    [
        ([2, 2, 2, 2], 3, 3.0, 1, True),  # σ 0: anything above the mean
        ([2, 2, 2, 2], 2, 3.0, 1, False),  # equal to the mean is not above it
        ([1, 3, 1, 3], 5, 3.0, 1, False),  # mean 2, σ 1: threshold 5, not above
        ([1, 3, 1, 3], 6, 3.0, 1, True),
        ([1, 3, 1, 3], 6, 3.0, 7, False),  # below the minimum count
        ([0, 0, 0, 0], 4, 3.0, 5, False),
        ([0, 0, 0, 0], 5, 3.0, 5, True),
        ([], 5, 3.0, 5, True),  # no history: the minimum decides
        ([10, 0, 10, 0], 20, 2.0, 1, True),  # mean 5, σ 5, k 2: threshold 15
        ([10, 0, 10, 0], 15, 2.0, 1, False),
    ],
)
def test_spike_is_above_mean_plus_k_sigma(
    history: list[int], current: int, k: float, min_count: int, spike: bool
) -> None:
    assert detect_spike(history, current, k=k, min_count=min_count).is_spike is spike


def test_spike_reports_its_numbers() -> None:
    verdict = detect_spike([1, 3, 1, 3], 6, k=3.0, min_count=1)
    assert (verdict.mean, verdict.sigma, verdict.threshold) == (2.0, 1.0, 5.0)


def test_hourly_counts_put_comments_in_their_hour() -> None:
    moments = [
        T0 - minutes(1),  # current hour
        T0 - minutes(59),  # current hour
        T0 - minutes(61),  # one hour ago: the last history slot
        T0 - minutes(3 * 60 + 1),  # three hours ago: the first slot of a 3-hour history
        T0 - minutes(4 * 60 + 1),  # outside the window
        T0 + minutes(5),  # in the future (clock skew): ignored
    ]
    assert hourly_counts(moments, T0, 3) == ([1, 0, 1], 2)


@pytest.mark.parametrize(
    ("text", "clock", "until"),
    [
        ("22:00-07:00", time(23, 0), datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        ("22:00-07:00", time(3, 0), datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),
        ("22:00-07:00", time(7, 0), None),
        ("22:00-07:00", time(12, 0), None),
        ("13:00-14:00", time(13, 30), datetime(2026, 11, 30, 14, 0, tzinfo=UTC)),
        ("13:00-14:00", time(12, 59), None),
    ],
)
def test_quiet_hours(text: str, clock: time, until: datetime | None) -> None:
    now = datetime.combine(T0.date(), clock, tzinfo=UTC)
    assert quiet_until(now, parse_quiet_hours(text)) == until


@pytest.mark.parametrize("text", ["22h-07h", "22:00", "25:00-07:00", "08:00-08:00"])
def test_bad_quiet_hours_are_named(text: str) -> None:
    with pytest.raises(ConfigError, match="quiet hours"):
        parse_quiet_hours(text)


@pytest.mark.parametrize(
    ("last_fired", "cooldown", "quiet", "expected"),
    [
        (None, 600, None, T0),
        (T0 - minutes(5), 600, None, T0 + minutes(5)),
        (T0 - minutes(15), 600, None, T0),
        (None, 0, "11:00-13:00", T0.replace(hour=13)),
        # the cooldown ends inside the quiet hours: the message waits for their end
        (T0 - minutes(5), 600, "12:05-12:30", T0.replace(minute=30)),
    ],
)
def test_send_at_honours_cooldown_and_quiet_hours(
    last_fired: datetime | None, cooldown: int, quiet: str | None, expected: datetime
) -> None:
    parsed = parse_quiet_hours(quiet) if quiet else None
    assert send_at(T0, quiet=parsed, last_fired=last_fired, cooldown_seconds=cooldown) == expected


@pytest.mark.parametrize(
    ("attempts", "age_hours", "retry_after", "expected_wait"),
    [
        (1, 0, None, 10.0),  # rng 1.0: the ceiling, base 10 s
        (3, 0, None, 40.0),
        (20, 0, None, 3600.0),  # capped at an hour
        (1, 0, 120.0, 120.0),  # the receiver's wait is longer
        (3, 0, 5.0, 40.0),  # the backoff is longer
        (1, 0, 1e9, MAX_RETRY_AFTER_SECONDS),
        (20, 23.5, None, None),  # the next try would be past the day: dead letter
        (1, 23.999, None, None),
    ],
)
def test_next_attempt_backs_off_then_gives_up(
    attempts: int, age_hours: float, retry_after: float | None, expected_wait: float | None
) -> None:
    created = T0 - timedelta(hours=age_hours)
    moment = next_attempt(
        T0,
        attempts=attempts,
        created_at=created,
        max_age_seconds=86400,
        retry_after=retry_after,
        rng=lambda: 1.0,
    )
    if expected_wait is None:
        assert moment is None
    else:
        assert moment == T0 + timedelta(seconds=expected_wait)


def test_backoff_has_jitter() -> None:
    waits = {
        next_attempt(T0, attempts=5, created_at=T0, max_age_seconds=86400, rng=lambda r=r: r)
        for r in (0.1, 0.5, 0.9)
    }
    assert len(waits) == 3


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("30", 30.0),
        ("soon", None),
        ("Mon, 30 Nov 2026 12:01:00 GMT", 60.0),
        ("Mon, 30 Nov 2026 11:00:00 GMT", 0.0),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, T0) == seconds


def test_fit_text_keeps_short_text_and_trims_long_at_a_line() -> None:
    assert fit_text("short", TELEGRAM_MAX_CHARS, "more") == "short"
    long = "\n".join(f"line {i} " + "x" * 90 for i in range(100))
    fitted = fit_text(long, TELEGRAM_MAX_CHARS, "… 57 more: https://example.org")
    assert len(fitted) <= TELEGRAM_MAX_CHARS
    assert fitted.endswith("… 57 more: https://example.org")
    assert fitted.split("\n")[-2].startswith("line ")  # cut at a line break
