"""When an alert is sent and what it says: pure functions, no I/O, tested with tables.

Instant grouping, digest schedule and top items, spike detection (the current hour above the
trailing mean + k·σ), quiet hours, cooldown, the retry schedule of a failed delivery (full-jitter
exponential backoff bounded by a maximum age, then the dead letter), `Retry-After` parsing and
Telegram's message length limit.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Final, TypeVar

from parser_pipeline.errors import ConfigError
from parser_pipeline.vk.retry import compute_backoff

T = TypeVar("T")

# Comments per instant message: several arriving together are one message, but a burst of
# hundreds is split so that each message stays readable (and within Telegram's 4,096 chars).
MAX_COMMENTS_PER_MESSAGE: Final = 20
# Telegram's sendMessage text limit (characters after entity parsing).
TELEGRAM_MAX_CHARS: Final = 4096
# The first retry of a failed delivery waits up to this; each next one up to twice as long...
RETRY_BASE_SECONDS: Final = 10.0
# ...but never more than this: a receiver back after an outage hears within the hour.
RETRY_CAP_SECONDS: Final = 3600.0
# A receiver's Retry-After (or Telegram's retry_after) above this is read as this: a typo in a
# proxy must not hold a channel for a week.
MAX_RETRY_AFTER_SECONDS: Final = 6 * 3600.0


# ---- grouping and ranking ---------------------------------------------------------------------


def group_instant(items: Sequence[T], per_message: int = MAX_COMMENTS_PER_MESSAGE) -> list[list[T]]:
    """New comments that arrived together, as messages of at most `per_message` each."""
    if per_message < 1:
        raise ValueError("per_message must be at least 1")
    return [list(items[i : i + per_message]) for i in range(0, len(items), per_message)]


@dataclass(frozen=True, slots=True)
class Ranked:
    """What ranks a comment in a digest: keywords matched, likes, then the newest first."""

    matched: int
    likes: int
    date: datetime


def top_items(items: Sequence[T], key: Callable[[T], Ranked], n: int) -> list[T]:
    """The `n` best items: most keywords matched, then most likes, then newest."""
    return sorted(items, key=lambda i: (-key(i).matched, -key(i).likes, -key(i).date.timestamp()))[
        :n
    ]


# ---- digest -----------------------------------------------------------------------------------


def digest_due(
    now: datetime, last: datetime, *, every_minutes: int | None, at: time | None
) -> bool:
    """Whether a digest whose previous period ended at `last` is due at `now`.

    Every N minutes: N minutes after the last. At a time of day (UTC): when that time of day
    passed since the last one.
    """
    if at is not None:
        moment = datetime.combine(now.date(), at, tzinfo=UTC)
        if moment > now:
            moment -= timedelta(days=1)
        return last < moment <= now
    if every_minutes is None or every_minutes < 1:
        raise ValueError("a digest needs every_minutes or at")
    return now - last >= timedelta(minutes=every_minutes)


# ---- spike --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spike:
    """The verdict on one hour: its count, the trailing mean and σ, the threshold."""

    current: int
    mean: float
    sigma: float
    threshold: float
    is_spike: bool


def detect_spike(history: Sequence[int], current: int, *, k: float, min_count: int) -> Spike:
    """Is `current` (comments this hour) a spike over `history` (the hours before)?

    A spike: at least `min_count` and strictly above mean + k·σ (population σ) of the history.
    An empty history has mean 0 and σ 0: any hour with `min_count` comments is a spike.
    """
    n = len(history)
    mean = sum(history) / n if n else 0.0
    sigma = math.sqrt(sum((h - mean) ** 2 for h in history) / n) if n else 0.0
    threshold = mean + k * sigma
    return Spike(current, mean, sigma, threshold, current >= min_count and current > threshold)


def hourly_counts(moments: Sequence[datetime], now: datetime, hours: int) -> tuple[list[int], int]:
    """Counts per hour: the `hours` whole hours before the current one (oldest first), and the
    current hour (the 60 minutes ending at `now`)."""
    history = [0] * hours
    current = 0
    for moment in moments:
        age = (now - moment).total_seconds()
        if age < 0:
            continue
        slot = int(age // 3600)
        if slot == 0:
            current += 1
        elif slot <= hours:
            history[hours - slot] += 1
    return history, current


# ---- quiet hours and cooldown -----------------------------------------------------------------


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """`22:00-07:00` (UTC) as (start, end); ConfigError naming the value otherwise."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ConfigError(
            f"quiet hours {text!r} are not HH:MM-HH:MM (UTC), e.g. 22:00-07:00"
        ) from None
    if start == end:
        raise ConfigError(f"quiet hours {text!r} start and end at the same time")
    return start, end


def quiet_until(now: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """The end of the quiet hours `now` is in (UTC), or None when `now` is not quiet."""
    if quiet is None:
        return None
    start, end = quiet
    clock = now.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    moment = datetime.combine(now.date(), end, tzinfo=UTC)
    return moment if moment > now else moment + timedelta(days=1)


def send_at(
    now: datetime,
    *,
    quiet: tuple[time, time] | None,
    last_fired: datetime | None,
    cooldown_seconds: int,
) -> datetime:
    """When a message written now may go: after the quiet hours and the rule's cooldown."""
    moment = now
    if last_fired is not None and cooldown_seconds > 0:
        moment = max(moment, last_fired + timedelta(seconds=cooldown_seconds))
    return quiet_until(moment, quiet) or moment


# ---- retries ----------------------------------------------------------------------------------


def next_attempt(
    now: datetime,
    *,
    attempts: int,
    created_at: datetime,
    max_age_seconds: float,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> datetime | None:
    """When to try a delivery again after its `attempts`-th failure, or None: give up (the
    dead letter), because the next try would be later than `max_age_seconds` after it was
    written. A receiver's own wait (Retry-After) replaces the backoff when it is longer."""
    wait = compute_backoff(attempts, base=RETRY_BASE_SECONDS, cap=RETRY_CAP_SECONDS, rng=rng)
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    moment = now + timedelta(seconds=wait)
    if moment > created_at + timedelta(seconds=max_age_seconds):
        return None
    return moment


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """HTTP Retry-After as seconds: a number of seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


# ---- message size -------------------------------------------------------------------------------


def fit_text(text: str, limit: int, more: str) -> str:
    """`text` if it fits in `limit` characters; else cut at a line break with `more` (a line
    pointing to the rest) appended, the whole within `limit`."""
    if len(text) <= limit:
        return text
    room = limit - len(more) - 1
    if room <= 0:
        return more[:limit]
    cut = text.rfind("\n", 0, room)
    if cut <= 0:
        cut = room
    return text[:cut].rstrip() + "\n" + more
