"""Reviews over the API: change one or many, the audit trail, filters everywhere, exports."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq  # type: ignore[import-untyped]
from apikit import Api, add_comments, add_group

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.export.service import export
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.names import ReviewState


def seed(api: Api) -> None:
    add_group(api.engine, 100, "city")
    add_comments(api.engine, 100, [{"comment_id": i, "text": f"дорога {i}"} for i in range(1, 6)])
    with transaction(api.engine) as connection:
        add_keywords(connection, [make_spec("дорога", "roads")])
    analyze_comments(api.engine)


def test_patch_records_who_changed_what_and_the_search_filters_by_it(any_api: Api) -> None:
    seed(any_api)
    response = any_api.patch(
        "/comments/100/2/review", json={"state": "done", "add_tags": ["Жалоба"], "note": "ok"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["review"] == {
        "state": "done", "tags": ["жалоба"], "note": "ok",
        "updated_at": body["review"]["updated_at"], "updated_by": "writer",
    }  # fmt: skip
    assert [(e["actor"], e["action"], e["value"]) for e in body["history"]] == [
        ("writer", "note", "ok"),
        ("writer", "tag_added", "жалоба"),
        ("writer", "state", "done"),
    ]
    again = any_api.patch("/comments/100/2/review", json={"state": "done"}).json()
    assert len(again["history"]) == 3  # nothing changed, nothing recorded
    done = any_api.get("/comments", params={"review_state": "done"}).json()["items"]
    assert [c["comment_id"] for c in done] == [2]
    assert done[0]["review"]["tags"] == ["жалоба"]
    new = any_api.get("/comments", params={"review_state": "new"}).json()["items"]
    assert sorted(c["comment_id"] for c in new) == [1, 3, 4, 5]
    tagged = any_api.get("/comments", params={"tag": "ЖАЛОБА"}).json()["items"]
    assert [c["comment_id"] for c in tagged] == [2]
    stats = any_api.get("/stats", params={"review_state": "done"}).json()
    assert sum(d["comments"] for d in stats["comments_per_day"]) == 1


def test_bulk_is_all_or_nothing_and_read_only_keys_cannot_review(any_api: Api) -> None:
    seed(any_api)
    refs = [{"group_id": 100, "comment_id": i} for i in (1, 3)]
    body = {"comments": refs, "state": "irrelevant", "add_tags": ["spam"]}
    response = any_api.post("/reviews", json=body)
    assert response.status_code == 200, response.text
    assert {i["review"]["state"] for i in response.json()["items"]} == {"irrelevant"}
    missing = {**body, "comments": [*refs, {"group_id": 100, "comment_id": 99}], "state": "done"}
    response = any_api.post("/reviews", json=missing)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    states = any_api.get("/comments", params={"review_state": "irrelevant"}).json()["items"]
    assert sorted(c["comment_id"] for c in states) == [1, 3]  # the failed bulk changed nothing
    refused = any_api.client.patch(
        "/comments/100/1/review", json={"state": "done"}, headers=any_api.ro
    )
    assert refused.status_code == 403
    assert any_api.client.get("/comments/100/1/review", headers=any_api.ro).status_code == 200


def test_bad_review_input_is_one_error_naming_the_field(any_api: Api) -> None:
    seed(any_api)
    for body, field in (
        ({"state": "maybe"}, "state"),
        ({"add_tags": ["a,b"]}, "add_tags.0"),
        ({"state": None}, "state"),
        ({"note": "x" * 2001}, "note"),
    ):
        response = any_api.patch("/comments/100/1/review", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["details"]["fields"][0]["field"] == field
    assert any_api.get("/comments/100/77/review").status_code == 404
    assert any_api.get("/comments", params={"review_state": "maybe"}).status_code == 422


def test_exports_filter_by_review_and_carry_its_columns(any_api: Api, tmp_path: Path) -> None:
    seed(any_api)
    any_api.patch("/comments/100/4/review", json={"state": "in_progress", "add_tags": ["b", "a"]})
    f = CommentFilter(review_states=(ReviewState.in_progress,), tags=("a",))
    out = tmp_path / "x.csv"
    assert export(any_api.engine, f, "csv", out).rows == 1
    with out.open(encoding="utf-8") as file:
        (row,) = csv.DictReader(file)
    assert (row["comment_id"], row["review_state"], row["tags"]) == ("4", "in_progress", "a|b")
    parquet = tmp_path / "all.parquet"
    assert export(any_api.engine, CommentFilter(), "parquet", parquet).rows == 5
    table = pq.read_table(parquet).to_pylist()
    assert {(r["comment_id"], r["review_state"], tuple(r["tags"])) for r in table} == {
        (1, "new", ()), (2, "new", ()), (3, "new", ()), (4, "in_progress", ("a", "b")),
        (5, "new", ()),
    }  # fmt: skip
    stored = any_api.post(
        "/exports", json={"format": "csv", "filters": {"review_states": ["done"], "tags": ["x"]}}
    )
    assert stored.status_code == 202, stored.text
    assert stored.json()["filters"]["review_states"] == ["done"]


def test_irrelevant_marks_suggest_an_exclusion_per_category(any_api: Api) -> None:
    add_group(any_api.engine, 100, "city")
    texts = {
        1: "Скидки на ремонт дороги, реклама",
        2: "Дорога и реклама магазина",
        3: "Рекламу дороги видели?",
        4: "Дорога разбита",
        5: "Дорогу опять не чинят",
    }
    add_comments(any_api.engine, 100, [{"comment_id": i, "text": t} for i, t in texts.items()])
    with transaction(any_api.engine) as connection:
        add_keywords(connection, [make_spec("дорога", "roads")])
    analyze_comments(any_api.engine)
    refs = [{"group_id": 100, "comment_id": i} for i in (1, 2, 3)]
    any_api.post("/reviews", json={"comments": refs, "state": "irrelevant"})
    kept = [{"group_id": 100, "comment_id": i} for i in (4, 5)]
    any_api.post("/reviews", json={"comments": kept, "state": "done"})
    found = any_api.get("/reviews/exclusion-suggestions").json()
    assert found[0] == {
        "category": "roads", "word": "реклама", "irrelevant": 3, "irrelevant_total": 3,
        "kept": 0, "kept_total": 2,
    }  # fmt: skip
    assert "дорога" not in {s["word"] for s in found}  # the category's own keyword
