"""Pure row mapping: links for top-level comments and replies, keyword lists, CSV/JSON fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from parser_pipeline.export.csv_writer import csv_fields
from parser_pipeline.export.jsonl_writer import json_object
from parser_pipeline.export.rows import (
    COLUMNS,
    comment_url,
    keywords_and_categories,
    post_url,
    to_record,
)

WHEN = datetime(2024, 6, 1, 12, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("owner", "post", "comment", "parent", "url"),
    [
        (-1, 10, 11, None, "https://vk.com/wall-1_10?reply=11"),
        (-1, 10, 15, 11, "https://vk.com/wall-1_10?reply=15&thread=11"),
        (-29534144, 7, 8, None, "https://vk.com/wall-29534144_7?reply=8"),
    ],
)
def test_comment_url(owner: int, post: int, comment: int, parent: int | None, url: str) -> None:
    assert comment_url(owner, post, comment, parent) == url


def test_post_url() -> None:
    assert post_url(-1001, 42) == "https://vk.com/wall-1001_42"


@pytest.mark.parametrize(
    ("matches", "expected"),
    [
        (None, ([], [])),
        ([["b", "x"], ["a", ""], ["b", "x"]], (["a", "b"], ["x"])),
        (
            '[["дорога","transport"],["школа","education"]]',
            (["дорога", "школа"], ["education", "transport"]),
        ),
        ("[]", ([], [])),
    ],
)
def test_keywords_and_categories(matches: object, expected: tuple[list[str], list[str]]) -> None:
    assert keywords_and_categories(matches) == expected


def row(**changes: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "owner_id": -1001,
        "post_id": 10,
        "comment_id": 15,
        "parent_comment_id": 11,
        "from_id": 100,
        "date": WHEN,
        "text": "привет",
        "likes_count": 3,
        "is_deleted": 0,
        "group_name": "Город",
        "author_name": None,
        "matches": [["школа", "education"]],
        "review_state": "done",
        "tags": '["срочно", "жалоба"]',
    }
    values.update(changes)
    return SimpleNamespace(**values)


def test_to_record() -> None:
    record = to_record(row())
    assert record._fields == COLUMNS
    assert record.group_id == 1001
    assert record.comment_url == "https://vk.com/wall-1001_10?reply=15&thread=11"
    assert record.is_deleted is False
    assert (record.keywords, record.categories) == (["школа"], ["education"])
    assert (record.review_state, record.tags) == ("done", ["жалоба", "срочно"])


def test_text_fields() -> None:
    moscow = timezone(timedelta(hours=3))
    record = to_record(
        row(
            date=WHEN.astimezone(moscow),
            is_deleted=True,
            matches=None,
            review_state="new",
            tags=None,
        )
    )
    fields = csv_fields(record)
    assert fields[9] == "2024-06-01T15:30:05+03:00"  # the instant, with its offset
    assert fields[12:] == ("true", "", "", "new", "")
    assert json_object(record)["keywords"] == []
    assert json_object(record)["author_name"] is None
