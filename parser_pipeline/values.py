"""Checked values shared by the store's models and the HTTP API: id ranges, text, time bounds.

Every id column (VK's groups, posts, comments, authors; our jobs, keywords, exports) is a
BIGINT, and a larger number must not reach the driver (SQLite raises OverflowError, PostgreSQL
"out of range"): ids are checked against MAX_ID, which also every JSON reader holds exactly.
PostgreSQL cannot store NUL in text. A time bound that leaves datetime's range after its shift
to UTC is clamped to the range's end, where it means what it meant: no bound on that side.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field, Strict

from parser_pipeline.errors import ConfigError

# PostgreSQL's BIGINT (and SQLite's INTEGER): every id column.
BIGINT_MAX: Final = 2**63 - 1
# PostgreSQL's INTEGER: counts and settings (priority, interval, likes, ages).
INT_MAX: Final = 2**31 - 1
# The largest id the API takes or gives: 2^53 - 1, the largest integer every JSON reader
# (JavaScript's Number included) holds exactly, well inside BIGINT. VK's ids (users,
# communities, posts, comments) and our row ids are far below it.
MAX_ID: Final = 2**53 - 1
# VK ids are positive for users and communities; an owner id is a community's id negated.
MAX_VK_ID: Final = MAX_ID
NUL: Final = "\x00"
# The JSON Schema pattern of text without NUL (ECMA regex, as OpenAPI documents take it).
NO_NUL_PATTERN: Final = r"^[^\u0000]*$"


def is_vk_id(value: int) -> bool:
    """A positive id VK could have given a user, a community, a post or a comment."""
    return 0 < value <= MAX_VK_ID


def no_nul(value: str) -> str:
    """`value` if it has no NUL character (PostgreSQL cannot store one); ValueError otherwise."""
    if NUL in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


def json_integer(value: object) -> int:
    """A JSON number that is whole (5 or 5.0, as JSON Schema's integer); ValueError for a
    string, a boolean or a fraction, which lax parsing would turn into a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, not a string or a boolean")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


# In JSON bodies and stored JSON: numbers are numbers and booleans booleans (no "5" or true as 1).
# (The bounds come before the validator, so the schema shows them as minimum and maximum.)
JSON_INTEGER: Final = BeforeValidator(json_integer)
VkId = Annotated[int, Field(ge=1, le=MAX_VK_ID), JSON_INTEGER]
AuthorId = Annotated[int, Field(ge=-MAX_VK_ID, le=MAX_VK_ID), JSON_INTEGER]
RowId = Annotated[int, Field(ge=1, le=MAX_ID), JSON_INTEGER]
StrictBool = Annotated[bool, Strict()]
Text = Annotated[str, AfterValidator(no_nul), Field(json_schema_extra={"pattern": NO_NUL_PATTERN})]


# A tag is a short label a reviewer gives comments: words separated by single spaces, without
# commas or bars (they separate tags in typed text and in export cells), control characters or
# unusual spaces, stored in lower case
# so that "Жалоба" and "жалоба" are one tag (one indexed equality). The pattern lists its
# characters explicitly, so JSON Schema (ECMA), Python and pydantic read it alike.
MAX_TAG_CHARS: Final = 64
_NOT_IN_TAG: Final = (
    r"\u0000-\u0020,|\u007f-\u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff"
)
TAG_PATTERN: Final = f"^[^{_NOT_IN_TAG}]+(?: [^{_NOT_IN_TAG}]+)*$"
_TAG_RE: Final = re.compile(TAG_PATTERN)
_TAG_RULE: Final = (
    "a tag is words separated by single spaces, without commas, bars or control characters"
)


def normalize_tag(value: str) -> str:
    """A tag as typed (runs of whitespace read as one space, trimmed) as stored: lower case;
    ValueError saying what a tag may be."""
    tag = " ".join(value.split())
    if not tag:
        raise ValueError("a tag must not be empty")
    if len(tag) > MAX_TAG_CHARS:
        raise ValueError(f"a tag has at most {MAX_TAG_CHARS} characters")
    if not _TAG_RE.match(tag):
        raise ValueError(
            "a tag is words separated by spaces, without commas, bars or control characters"
        )
    return tag.lower()


def split_tags(text: str) -> tuple[str, ...]:
    """Tags as typed in one field, separated by commas: each normalized, in order, once."""
    return tuple(dict.fromkeys(normalize_tag(part) for part in text.split(",") if part.strip()))


def strict_tag(value: str) -> str:
    """A tag exactly as the pattern says (JSON, queries, options: nothing is trimmed), stored in
    lower case; ValueError saying what a tag may be."""
    if not _TAG_RE.match(value):
        raise ValueError(_TAG_RULE)
    return value.lower()


# A tag in JSON, a query or an option: exactly the pattern, stored in lower case.
Tag = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TAG_CHARS, json_schema_extra={"pattern": TAG_PATTERN}),
    AfterValidator(strict_tag),
]


def utc(moment: datetime) -> datetime:
    """`moment` in UTC (naive means UTC). A moment before year 1 or after year 9999 in UTC
    (0001-01-01T00:00+14:00) becomes the first or last moment there is: as a bound it then
    means what it meant, no bound at all on that side."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        offset = moment.utcoffset()
        ahead = offset is not None and offset > timedelta(0)
        return (datetime.min if ahead else datetime.max).replace(tzinfo=UTC)


_LAST: Final = datetime.max.replace(tzinfo=UTC)


def parse_bound(text: str, *, end: bool) -> datetime:
    """A time bound as users type it: an ISO date or date-time, naive means UTC; ValueError.

    `since` is inclusive and `until` exclusive. A bare date as the end bound means the whole
    day: until 2024-06-30 stops before 2024-07-01 00:00 UTC, so since D and until D is day D.
    """
    value = text.strip()
    try:
        if len(value) == len("YYYY-MM-DD"):
            moment = datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
            if end:  # the end of the last day there is: the last moment there is
                return moment + timedelta(days=1) if moment.date() < date.max else _LAST
            return moment
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO date (2024-06-01) or date-time (2024-06-01T12:00:00+03:00)"
        ) from None
    return utc(moment)


def parse_cli_bound(text: str, *, name: str, end: bool) -> datetime:
    """`parse_bound` for a command-line option: ConfigError naming the option."""
    try:
        return parse_bound(text, end=end)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None
