"""CommentFilter and ExportOptions: JSON round trip, validation, command-line date bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from parser_pipeline.errors import ConfigError
from parser_pipeline.export.filters import ExportOptions, from_stored, to_stored
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.values import parse_bound, parse_cli_bound


def test_json_round_trip() -> None:
    filters = CommentFilter(
        group_ids=(1, 2),
        since=datetime(2024, 6, 1, tzinfo=timezone(timedelta(hours=3))),
        until=datetime(2024, 7, 1, tzinfo=UTC),
        keyword_ids=(5,),
        keywords=("дорога",),
        categories=("transport",),
        matched_only=True,
        author_ids=(100, -1),
        deleted="exclude",
    )
    options = ExportOptions(excel=True, force=True)
    stored = json.loads(json.dumps(to_stored(filters, options)))  # as a JSON column keeps it
    assert from_stored(stored) == (filters, options)
    assert stored["since"] == "2024-05-31T21:00:00Z"  # stored in UTC
    assert from_stored(None) == (CommentFilter(), ExportOptions())
    assert CommentFilter.from_json(CommentFilter().to_json()) == CommentFilter()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"deleted": "maybe"}, "deleted"),
        ({"group_ids": [-5]}, "group_ids: Input should be greater than or equal to 1"),
        ({"since": "yesterday"}, "since: 'yesterday' is not an ISO date"),
        ({"keyword_ids": ["5"]}, "keyword_ids: must be a whole number"),
        ({"matched_only": 1}, "matched_only: Input should be a valid boolean"),
        ({"colour": "red"}, "colour"),
        ({"options": {"zip": True}}, "options are invalid"),
    ],
)
def test_invalid_stored_filters(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_stored(data)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2024-06-01", False, datetime(2024, 6, 1, tzinfo=UTC)),
        ("2024-06-01", True, datetime(2024, 6, 2, tzinfo=UTC)),  # the whole day
        ("2024-06-01T12:00:00", True, datetime(2024, 6, 1, 12, tzinfo=UTC)),
        ("2024-06-01T12:00:00+03:00", False, datetime(2024, 6, 1, 9, tzinfo=UTC)),
    ],
)
def test_parse_bound(text: str, end: bool, expected: datetime) -> None:
    assert parse_bound(text, end=end) == expected
    field = "until" if end else "since"
    assert getattr(CommentFilter.model_validate({field: text}), field) == expected


def test_parse_bound_rejects_garbage() -> None:
    with pytest.raises(ConfigError, match="--until: 'yesterday' is not an ISO date"):
        parse_cli_bound("yesterday", name="--until", end=True)


FIRST, LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("0001-01-01T00:00:00+14:00", False, FIRST),
        ("9999-12-31T23:59:59-14:00", True, LAST),
        ("9999-12-31", True, LAST),
        ("0001-01-01", False, FIRST),
    ],
)
def test_bounds_beyond_the_calendar_in_utc_are_its_ends(
    text: str, end: bool, expected: datetime
) -> None:
    assert parse_bound(text, end=end) == expected
