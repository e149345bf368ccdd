"""/stats equals `vkpipe stats`' functions; /exports queue, run and download; /health."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from apikit import NOW, Api, add_comments, add_group

from parser_pipeline.analyze import stats
from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.export.jobs import run_export_job
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import transaction


def _seed(api: Api) -> int:
    add_group(api.engine, 100, "city")
    add_group(api.engine, 200, "village")
    add_comments(
        api.engine,
        100,
        [{"comment_id": i, "text": "дорога" if i % 2 else "тишина", "from_id": i % 3 + 1}
         for i in range(1, 21)],
    )  # fmt: skip
    add_comments(api.engine, 200, [{"comment_id": 1, "text": "дорога и мэр"}], post_id=5)
    with transaction(api.engine) as connection:
        (road,) = add_keywords(connection, [make_spec("дорога", "roads")])
    analyze_comments(api.engine)
    return road.id


def _plain(value: object) -> object:
    return json.loads(json.dumps(value, default=str))


def test_stats_are_the_numbers_of_vkpipe_stats(api: Api) -> None:
    _seed(api)
    body = api.get("/stats?group=city&top=3").json()
    f = CommentFilter(group_ids=(100,))
    with api.engine.connect() as connection:
        expected: dict[str, list[Any]] = {
            "comments_per_day": stats.comments_per_day(connection, f),
            "matches_per_day": stats.matches_per_day(connection, f),
            "top_keywords": stats.top_keywords(connection, f, 3),
            "top_categories": stats.top_categories(connection, f, 3),
            "top_authors": stats.top_authors(connection, f, 3),
            "top_posts": stats.top_posts(connection, f, 3),
        }
    for name, rows in expected.items():
        assert body[name] == _plain([asdict(r) for r in rows]), name
    assert body["group_id"] == 100
    assert body["top_keywords"][0]["matches"] == 10
    day = NOW.date().isoformat()
    assert api.get(f"/stats?since={day}&until={day}").json()["comments_per_day"] != []
    assert api.get("/stats?since=2026-02-02&until=2026-02-01").json()["comments_per_day"] == []
    assert api.get("/stats?group=nosuch").status_code == 404


def test_export_is_queued_run_and_downloaded(api: Api) -> None:
    road = _seed(api)
    response = api.post(
        "/exports",
        json={"format": "csv", "filters": {"group_ids": [100], "keyword_ids": [road]}},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["status"], job["download_url"]) == ("queued", None)
    not_ready = api.get(f"/exports/{job['id']}/file")
    assert not_ready.status_code == 409
    assert not_ready.json()["error"]["code"] == "export_not_ready"

    # What the export worker does with the id the dispatcher published.
    outcome = run_export_job(api.engine, job["id"], lambda: datetime.now(UTC))
    assert (outcome.status, outcome.rows) == ("succeeded", 10)
    done = api.get(f"/exports/{job['id']}").json()
    assert done["download_url"] == f"/exports/{job['id']}/file"
    assert [e["id"] for e in api.get("/exports?status=succeeded").json()["items"]] == [job["id"]]
    file = api.get(done["download_url"])
    assert file.status_code == 200
    assert file.headers["content-type"].startswith("text/csv")
    lines = file.text.strip().splitlines()
    assert len(lines) == 11
    assert "comment_url" in lines[0]


def test_bad_exports(api: Api) -> None:
    _seed(api)
    assert api.post("/exports", json={"format": "pdf"}).status_code == 422
    bad = api.post("/exports", json={"format": "csv", "filters": {"group_ids": [-1]}})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "filters.group_ids.0"
    unknown = api.post("/exports", json={"format": "csv", "filters": {"keywords": ["нет"]}})
    assert unknown.status_code == 404
    assert api.get("/exports/999").status_code == 404
    assert api.get("/exports/999/file").status_code == 404
    assert api.get("/exports?status=lost").status_code == 422


def test_health(api: Api) -> None:
    assert api.client.get("/health/live").json() == {"status": "ok"}
    ready = api.get("/health/ready")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert {c["name"] for c in body["checks"]} >= {"database", "migrations", "broker"}
    assert "PostgreSQL" in next(c["detail"] for c in body["checks"] if c["name"] == "database")
    anonymous = api.client.get("/health/ready")
    assert anonymous.status_code == 200
    assert [set(c) for c in anonymous.json()["checks"]] == [{"name", "verdict", "required"}] * len(
        body["checks"]
    )
    assert "PostgreSQL" not in anonymous.text
    assert api.client.get("/health/ready", headers={"X-API-Key": "vkp_x_wrong"}).status_code == 401
    versions = api.get("/health/versions").json()
    assert versions["vkpipe"]
    assert versions["packages"]["fastapi"]


def test_unknown_paths_and_methods_use_the_error_body(api: Api) -> None:
    missing = api.get("/nothing/here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = api.client.put("/groups", headers=api.rw)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
