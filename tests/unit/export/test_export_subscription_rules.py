"""Which crawls trigger a subscription, its effective filters, its file names (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from parser_pipeline.export.filters import ExportOptions
from parser_pipeline.export.subscriptions import (
    Subscription,
    effective_filters,
    file_name,
    follows,
)
from parser_pipeline.store.comment_filter import CommentFilter


def subscription(**changes: object) -> Subscription:
    values: dict[str, object] = {
        "id": 1,
        "name": "daily",
        "format": "csv",
        "directory": "/exports",
        "filters": CommentFilter(),
        "options": ExportOptions(),
        "group_ids": (),
        "categories": (),
        "is_active": True,
        "exported_until": None,
    }
    values.update(changes)
    return Subscription(**values)  # type: ignore[arg-type]


def test_follows() -> None:
    assert follows(subscription(), 5)
    assert follows(subscription(group_ids=(5, 6)), 6)
    assert not follows(subscription(group_ids=(5,)), 7)
    assert not follows(subscription(is_active=False), 5)


def test_effective_filters() -> None:
    plain = subscription(filters=CommentFilter(matched_only=True))
    assert effective_filters(plain) == CommentFilter(matched_only=True)
    narrowed = subscription(
        filters=CommentFilter(categories=("b",)), group_ids=(5,), categories=("a", "b")
    )
    assert effective_filters(narrowed) == CommentFilter(group_ids=(5,), categories=("a", "b"))
    own_groups = subscription(filters=CommentFilter(group_ids=(9,)), group_ids=(5,))
    assert effective_filters(own_groups).group_ids == (9,)


def test_file_name() -> None:
    moment = datetime(2024, 6, 1, 7, 5, 9, tzinfo=UTC)
    assert file_name("daily", "parquet", moment, 17) == "daily-20240601T070509Z-17.parquet"
