"""Each filter selects exactly its comments, on both backends; the order is stable."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from exportdata import T0, Dataset
from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.export.options import build_filters
from parser_pipeline.export.service import count_rows, export
from parser_pipeline.store.comment_filter import CommentFilter

G1, G2 = -1001, -2002


def exported(engine: Engine, out_dir: Path, filters: CommentFilter) -> list[tuple[int, int]]:
    out = out_dir / f"f{len(list(out_dir.iterdir()))}.jsonl"
    export(engine, filters, "jsonl", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    return [(-(o := json.loads(line))["group_id"], o["comment_id"]) for line in lines]


def test_no_filter_is_everything_in_date_then_id_order(
    engine: Engine, dataset: Dataset, out_dir: Path
) -> None:
    assert exported(engine, out_dir, CommentFilter()) == dataset.comment_ids
    # Equal dates: group 2002 (owner -2002) before group 1001, then by comment id.
    order = dataset.comment_ids
    assert order.index((G2, 10)) < order.index((G2, 11)) < order.index((G1, 9))
    assert count_rows(engine, CommentFilter()) == 13


CASES: list[tuple[str, dict[str, Any], set[int]]] = [
    ("group", {"group_ids": (2002,)}, {10, 11, 12, 13}),
    ("since", {"since": T0 + timedelta(days=2)}, {9, 10, 11, 12, 13}),
    ("until", {"until": T0 + timedelta(days=1)}, {1, 2, 3, 4, 5}),
    ("range", {"since": T0 + timedelta(days=1), "until": T0 + timedelta(days=2)}, {6, 7, 8}),
    ("authors", {"author_ids": (101, -1001)}, {2, 3, 7, 11}),
    ("exclude deleted", {"deleted": "exclude"}, set(range(1, 14)) - {12}),
    ("only deleted", {"deleted": "only"}, {12}),
    ("matched only", {"matched_only": True}, {1, 5, 13}),
    ("keyword phrase", {"keywords": ("ДОРОГА",)}, {1, 5}),
    ("category", {"categories": ("education",)}, {1, 13}),
    # An exclusion rule's category does not select the comment it vetoed (9).
    ("category with exclusion", {"categories": ("transport",)}, {1, 5}),
    ("several", {"group_ids": (1001,), "categories": ("education",)}, {1}),
]


@pytest.mark.parametrize(("filters", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_filter(
    engine: Engine, dataset: Dataset, out_dir: Path, filters: dict[str, Any], expected: set[int]
) -> None:
    got = exported(engine, out_dir, CommentFilter(**filters))
    assert {cid for _, cid in got} == expected
    assert got == [key for key in dataset.comment_ids if key in got]  # still in export order


def test_keyword_id_filter(engine: Engine, dataset: Dataset, out_dir: Path) -> None:
    filters = CommentFilter(keyword_ids=(dataset.keyword_ids["мэрия"],))
    assert exported(engine, out_dir, filters) == [(G1, 5)]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"keywords": ("нет такого",)}, "keyword 'нет такого' does not exist"),
        ({"categories": ("sports",)}, "keyword category 'sports' does not exist"),
        ({"keyword_ids": (999,)}, "keyword 999 does not exist"),
    ],
)
def test_unknown_keyword_is_a_clear_error(
    engine: Engine, dataset: Dataset, out_dir: Path, filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotFoundError, match=message):
        export(engine, CommentFilter(**filters), "csv", out_dir / "x.csv")
    assert list(out_dir.iterdir()) == []


def test_build_filters_resolves_groups_and_dates(engine: Engine, dataset: Dataset) -> None:
    filters = build_filters(
        engine, groups=["gorod", "2002", "@GOROD"], since="2024-06-02", until="2024-06-02"
    )
    assert filters.group_ids == (1001, 2002)
    assert filters.since == T0.replace(hour=0) + timedelta(days=1)
    assert filters.until == T0.replace(hour=0) + timedelta(days=2)
    with pytest.raises(NotFoundError, match="group 'nope' is not monitored"):
        build_filters(engine, groups=["nope"])
    with pytest.raises(ConfigError, match="is not before"):
        build_filters(engine, since="2024-06-03", until="2024-06-01")
