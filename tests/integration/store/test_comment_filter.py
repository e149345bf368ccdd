"""The one comment filter: its SQL on both backends, and search, export and statistics agreeing."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from exportdata import T0, Dataset, insert_dataset
from parser_pipeline.analyze import stats
from parser_pipeline.errors import NotFoundError
from parser_pipeline.export.service import export
from parser_pipeline.store import search
from parser_pipeline.store.comment_filter import CommentFilter, build_filter, where
from parser_pipeline.store.schema import vk_comments

G1, G2 = -1001, -2002
EVERY = set(range(1, 14))


@pytest.fixture
def dataset(engine: Engine) -> Dataset:
    return insert_dataset(engine)


def selected(engine: Engine, f: CommentFilter) -> set[int]:
    with engine.connect() as connection:
        query = select(vk_comments.c.comment_id).where(*where(connection, f))
        return set(connection.execute(query).scalars())


CASES: list[tuple[str, dict[str, Any], set[int]]] = [
    ("nothing", {}, EVERY),
    ("one group", {"group_ids": (2002,)}, {10, 11, 12, 13}),
    ("two groups", {"group_ids": (2002, 1001)}, EVERY),
    ("post", {"group_ids": (1001,), "post_id": 11}, {6, 7, 8, 9}),
    ("one author", {"author_ids": (101,)}, {2, 7, 11}),
    ("a community as author", {"author_ids": (101, -1001)}, {2, 3, 7, 11}),
    ("since is inclusive", {"since": T0 + timedelta(days=2)}, {9, 10, 11, 12, 13}),
    ("until is exclusive", {"until": T0 + timedelta(days=1)}, {1, 2, 3, 4, 5}),
    (
        "a naive bound is UTC",
        {"until": (T0 + timedelta(days=1)).replace(tzinfo=None)},
        {1, 2, 3, 4, 5},
    ),
    ("until a date is the whole day", {"until": "2024-06-02"}, {1, 2, 3, 4, 5, 6, 7, 8}),
    ("since D until D is day D", {"since": date(2024, 6, 2), "until": date(2024, 6, 2)}, {6, 7, 8}),
    ("an empty range", {"since": "2024-06-03", "until": "2024-06-01"}, set()),
    ("matched only", {"matched_only": True}, {1, 5, 13}),
    ("exclude deleted", {"deleted": "exclude"}, EVERY - {12}),
    ("only deleted", {"deleted": "only"}, {12}),
    ("keyword phrase, any case", {"keywords": ("ДОРОГА",)}, {1, 5}),
    ("category", {"categories": ("education",)}, {1, 13}),
    ("an exclusion rule selects nothing", {"categories": ("transport",)}, {1, 5}),
    ("phrase or category", {"keywords": ("мэрия",), "categories": ("education",)}, {1, 5, 13}),
    ("text, any case", {"text": "LINE2"}, {2}),
    ("LIKE wildcards are literal", {"text": "c_l"}, set()),
    ("percent is literal", {"text": "n;;%"}, set()),
    ("several", {"group_ids": (1001,), "categories": ("education",), "author_ids": (100,)}, {1}),
]


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_field_selects_exactly_its_comments(
    engine: Engine, dataset: Dataset, fields: dict[str, Any], expected: set[int]
) -> None:
    assert selected(engine, CommentFilter.model_validate(fields)) == expected


def test_keyword_ids_and_unknown_names(engine: Engine, dataset: Dataset) -> None:
    f = CommentFilter(keyword_ids=(dataset.keyword_ids["мэрия"],))
    assert selected(engine, f) == {5}
    for fields, message in (
        ({"keyword_ids": (999,)}, "keyword 999 does not exist"),
        ({"keywords": ("нет",)}, "keyword 'нет' does not exist"),
        ({"categories": ("sports",)}, "keyword category 'sports' does not exist"),
    ):
        with pytest.raises(NotFoundError, match=message):
            selected(engine, CommentFilter.model_validate(fields))


def test_build_filter_takes_groups_as_users_type_them(engine: Engine, dataset: Dataset) -> None:
    with engine.connect() as connection:
        f = build_filter(connection, groups=["https://vk.com/gorod", "club2002", "@GOROD"])
        assert f.group_ids == (1001, 2002)
        with pytest.raises(NotFoundError, match="group 'nope' is not monitored"):
            build_filter(connection, groups=["nope"])


def test_stored_as_json_and_back(engine: Engine, dataset: Dataset) -> None:
    f = CommentFilter(group_ids=(1001,), since="2024-06-01", until="2024-06-02", deleted="only")
    stored = json.loads(json.dumps(f.to_json()))
    assert stored["until"] == "2024-06-03T00:00:00Z"
    assert CommentFilter.from_json(stored) == f
    assert CommentFilter.from_json(None) == CommentFilter()


def _searched(engine: Engine, f: CommentFilter) -> set[tuple[int, int]]:
    keys: set[tuple[int, int]] = set()
    cursor = None
    with engine.connect() as connection:
        while True:
            page = search.search(connection, f, "-date", cursor, 2)
            keys |= {(r.owner_id, r.comment_id) for r in page.rows}
            if page.next_cursor is None:
                return keys
            cursor = search.decode_cursor(page.next_cursor, "-date")


def _exported(engine: Engine, f: CommentFilter, out: Path) -> set[tuple[int, int]]:
    export(engine, f, "jsonl", out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {(-row["group_id"], row["comment_id"]) for row in rows}


def _per_day(engine: Engine, keys: set[tuple[int, int]]) -> Counter[tuple[date, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(vk_comments.c.owner_id, vk_comments.c.comment_id, vk_comments.c.date)
        )
        return Counter(
            (r.date.date(), -r.owner_id) for r in rows if (r.owner_id, r.comment_id) in keys
        )


@pytest.mark.parametrize(("fields", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_search_export_and_statistics_select_the_same_comments(
    engine: Engine, dataset: Dataset, tmp_path: Path, fields: dict[str, Any], expected: set[int]
) -> None:
    f = CommentFilter.model_validate(fields)
    searched = _searched(engine, f)
    assert {cid for _, cid in searched} == expected
    assert _exported(engine, f, tmp_path / "out.jsonl") == searched
    with engine.connect() as connection:
        report = stats.report(connection, f)
    counted = Counter({(d.day, d.group_id): d.comments for d in report.comments_per_day})
    assert counted == _per_day(engine, searched)
    assert sum(p.comments for p in report.top_posts) == len(searched)
