"""Post-age tiers: how often a post's comment count is re-checked and its comments re-read.

Comments come in while a post is young; a community with thousands of old posts must not pay
for all of them on every crawl. A tier says, for posts up to an age, how long a count may go
unchecked (a wall.getById call checks 100 posts) and how long the comments may go without a
full re-read (every page and every thread, so that a comment added where another was deleted,
which leaves the count unchanged, is still found). Pure: the engine passes "now".

The setting `VKPIPE_RECHECK_TIERS` is a comma-separated list of `AGE=CHECK/VERIFY`, youngest
first, `*` as the age of the last tier; durations are `0` (every crawl), or a number with `m`,
`h` or `d`. The default suits a news community, where most comments arrive in the first two
days: `2d=0/6h,7d=1h/1d,30d=6h/7d,*=1d/30d`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_TIERS_TEXT = "2d=0/6h,7d=1h/1d,30d=6h/7d,*=1d/30d"

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


@dataclass(frozen=True, slots=True)
class Tier:
    """Posts up to `max_age` old (None: any age): check and verify intervals."""

    max_age: timedelta | None
    check_every: timedelta
    verify_every: timedelta


def parse_duration(text: str) -> timedelta:
    """`0`, `30m`, `6h` or `7d`; ValueError names what is allowed."""
    value = text.strip().lower()
    if value == "0":
        return timedelta(0)
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"{text!r} is not a duration: use 0, or a number with m, h or d (6h)")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_tiers(text: str) -> tuple[Tier, ...]:
    """Tiers from `AGE=CHECK/VERIFY,...`, youngest first, the last one for every age (`*`)."""
    tiers: list[Tier] = []
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError("no tiers given; e.g. 2d=0/6h,*=1d/30d")
    for index, part in enumerate(parts):
        age_text, sep, rest = part.partition("=")
        check_text, slash, verify_text = rest.partition("/")
        if not sep or not slash:
            raise ValueError(f"tier {part!r} is not AGE=CHECK/VERIFY (e.g. 2d=0/6h)")
        last = index == len(parts) - 1
        if age_text.strip() == "*":
            if not last:
                raise ValueError("only the last tier may be for every age (*)")
            max_age = None
        else:
            if last:
                raise ValueError("the last tier must be for every age: end with *=CHECK/VERIFY")
            max_age = parse_duration(age_text)
            if tiers and tiers[-1].max_age is not None and max_age <= tiers[-1].max_age:
                raise ValueError("tiers must go from young to old posts")
        tiers.append(Tier(max_age, parse_duration(check_text), parse_duration(verify_text)))
    return tuple(tiers)


DEFAULT_TIERS = parse_tiers(DEFAULT_TIERS_TEXT)


def tier_for(post_date: datetime, now: datetime, tiers: Sequence[Tier]) -> Tier:
    """The tier of a post of this date (a post dated in the future is as young as can be)."""
    age = now - post_date
    for tier in tiers:
        if tier.max_age is None or age <= tier.max_age:
            return tier
    return tiers[-1]


def _due(last: datetime | None, every: timedelta, now: datetime, since: datetime) -> bool:
    """Never done, or done before this crawl began and at least `every` ago."""
    if last is None:
        return True
    return last < since and now - last >= every


def check_due(
    post_date: datetime,
    checked_at: datetime | None,
    *,
    now: datetime,
    since: datetime,
    tiers: Sequence[Tier],
) -> bool:
    """Whether the post's count must be read again in this crawl (begun at `since`)."""
    return _due(checked_at, tier_for(post_date, now, tiers).check_every, now, since)


def verify_due(
    post_date: datetime,
    verified_at: datetime | None,
    *,
    now: datetime,
    since: datetime,
    tiers: Sequence[Tier],
) -> bool:
    """Whether the post's comments must be read again in full in this crawl."""
    return _due(verified_at, tier_for(post_date, now, tiers).verify_every, now, since)
