"""Post-age tiers (pure): parsing the setting, which tier a post is in, when it is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parser_pipeline.tiers import (
    DEFAULT_TIERS,
    Tier,
    check_due,
    parse_duration,
    parse_tiers,
    tier_for,
    verify_due,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", timedelta(0)), ("30m", timedelta(minutes=30)), ("6h", 6 * H), ("7D", 7 * D)],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_default_tiers_suit_a_news_community() -> None:
    assert (
        Tier(2 * D, timedelta(0), 6 * H),
        Tier(7 * D, H, D),
        Tier(30 * D, 6 * H, 7 * D),
        Tier(None, D, 30 * D),
    ) == DEFAULT_TIERS


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no tiers"),
        ("2d=0/6h", "last tier must be for every age"),
        ("*=0/6h,2d=0/6h", "only the last tier"),
        ("7d=0/6h,2d=0/1d,*=1d/7d", "from young to old"),
        ("2d=0,*=1d/7d", "AGE=CHECK/VERIFY"),
        ("2d=0/6x,*=1d/7d", "not a duration"),
    ],
)
def test_bad_tiers_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tiers(text)


@pytest.mark.parametrize(
    ("age", "expected_max_age"),
    [(timedelta(hours=-5), 2 * D), (H, 2 * D), (2 * D, 2 * D), (3 * D, 7 * D), (400 * D, None)],
)
def test_tier_for(age: timedelta, expected_max_age: timedelta | None) -> None:
    assert tier_for(NOW - age, NOW, DEFAULT_TIERS).max_age == expected_max_age


@pytest.mark.parametrize(
    ("age", "last", "expected"),
    [
        pytest.param(H, None, True, id="never-checked"),
        pytest.param(H, 2 * H, True, id="young-every-crawl"),
        pytest.param(H, timedelta(seconds=10), False, id="checked-in-this-crawl"),
        pytest.param(5 * D, 30 * timedelta(minutes=1), False, id="5-days-old-within-its-hour"),
        pytest.param(5 * D, 2 * H, True, id="5-days-old-past-its-hour"),
        pytest.param(100 * D, 23 * H, False, id="old-within-its-day"),
        pytest.param(100 * D, 25 * H, True, id="old-past-its-day"),
    ],
)
def test_check_due(age: timedelta, last: timedelta | None, expected: bool) -> None:
    checked_at = None if last is None else NOW - last
    assert check_due(NOW - age, checked_at, now=NOW, since=SINCE, tiers=DEFAULT_TIERS) is expected


@pytest.mark.parametrize(
    ("age", "last", "expected"),
    [
        pytest.param(H, None, True, id="never-read-in-full"),
        pytest.param(H, 5 * H, False, id="young-within-6-hours"),
        pytest.param(H, 7 * H, True, id="young-past-6-hours"),
        pytest.param(20 * D, 6 * D, False, id="month-old-within-its-week"),
        pytest.param(20 * D, 8 * D, True, id="month-old-past-its-week"),
        pytest.param(200 * D, 29 * D, False, id="old-within-30-days"),
    ],
)
def test_verify_due(age: timedelta, last: timedelta | None, expected: bool) -> None:
    verified_at = None if last is None else NOW - last
    assert verify_due(NOW - age, verified_at, now=NOW, since=SINCE, tiers=DEFAULT_TIERS) is expected
