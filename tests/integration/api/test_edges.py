"""No input makes the API answer 500: one regression test per class of finding of issue 19."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from apikit import Api, add_comments, add_group

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.store.engine import transaction

TOO_BIG = str(2**63)  # one past PostgreSQL's BIGINT (and SQLite's INTEGER)
TOO_SMALL = str(-(2**63) - 1)


def _error(response: Any) -> tuple[int, str, set[str]]:
    body = response.json()["error"]
    fields = {f["field"] for f in body["details"].get("fields", [])}
    return response.status_code, body["code"], fields


def _seed(api: Api) -> int:
    add_group(api.engine, 100, "city")
    add_comments(api.engine, 100, [{"comment_id": 1, "text": "дорога"}])
    with transaction(api.engine) as connection:
        (added,) = add_keywords(connection, [make_spec("дорога", "roads")])
    return added.id


@pytest.mark.parametrize("number", [TOO_BIG, TOO_SMALL, str(-(2**63)), "0"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/groups/{n}"),
        ("PATCH", "/groups/{n}"),
        ("DELETE", "/groups/{n}"),
        ("GET", "/keywords/{n}"),
        ("PATCH", "/keywords/{n}"),
        ("DELETE", "/keywords/{n}"),
        ("GET", "/comments/{n}/1"),
        ("GET", "/comments/100/{n}"),
        ("GET", "/jobs/{n}"),
        ("POST", "/jobs/{n}/cancel"),
        ("GET", "/exports/{n}"),
        ("GET", "/exports/{n}/file"),
    ],
)
def test_an_id_in_a_path_that_no_row_can_have_is_404(
    unchanged_api: Api, method: str, path: str, number: str
) -> None:
    body = {"priority": 5} if method == "PATCH" else None
    response = unchanged_api.client.request(
        method, path.format(n=number), headers=unchanged_api.rw, json=body
    )
    assert _error(response)[:2] == (404, "not_found"), response.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (f"author={TOO_BIG}", "author"),
        (f"author={TOO_SMALL}", "author"),
        (f"keyword={TOO_BIG}", "keyword"),
        (f"group=city&post={TOO_BIG}", "post"),
        ("text=abc%00def", "text"),
        ("group=dvor%00", "group"),
        ("category=a%00b", "category"),
        ("phrase=a%00b", "phrase"),
        ("until=0", "until"),
        ("since=yesterday", "since"),
    ],
)
def test_a_bad_filter_is_422_naming_it_on_comments_and_stats(
    unchanged_api: Api, query: str, field: str
) -> None:
    for path in ("/comments", "/stats"):
        status, code, fields = _error(unchanged_api.get(f"{path}?{query}"))
        # A repeatable parameter is named with the index of the bad value: author.0.
        assert (status, code, {f.split(".")[0] for f in fields}) == (
            422,
            "invalid_request",
            {field},
        )


def test_other_numbers_and_texts_out_of_range_are_422(unchanged_api: Api) -> None:
    assert _error(unchanged_api.get(f"/groups?offset={TOO_BIG}"))[2] == {"offset"}
    assert _error(unchanged_api.get("/keywords?category=a%00"))[2] == {"category"}
    assert _error(unchanged_api.post("/jobs", json={"groups": ["dvor\u0000"]}))[2] == {"groups.0"}
    filters = {"author_ids": [int(TOO_BIG)]}
    response = unchanged_api.post("/exports", json={"format": "csv", "filters": filters})
    assert _error(response)[2] == {"filters.author_ids.0"}


def test_unknown_groups_are_404_however_they_are_spelled(unchanged_api: Api) -> None:
    for ref in (TOO_BIG, "dvor%00", "nosuch"):
        assert unchanged_api.get(f"/groups/{ref}").status_code == 404
        assert unchanged_api.get(f"/stats?group={ref.replace('%00', '')}").status_code == 404
    assert unchanged_api.post("/jobs", json={"groups": [TOO_BIG]}).status_code == 404


@pytest.mark.parametrize(
    "bound",
    [
        "since=0001-01-01T00:00:00%2B14:00",
        "until=9999-12-31T23:59:59-14:00",
        "until=9999-12-31",
        "since=0001-01-01",
    ],
)
def test_time_bounds_at_the_ends_of_the_calendar_mean_no_bound(any_api: Api, bound: str) -> None:
    _seed(any_api)
    page = any_api.get(f"/comments?{bound}")
    assert page.status_code == 200, page.text
    assert [c["comment_id"] for c in page.json()["items"]] == [1]
    assert any_api.get(f"/stats?{bound}").status_code == 200


def test_one_date_meaning_for_comments_stats_and_exports(any_api: Api) -> None:
    _seed(any_api)  # comment 1 is dated 2026-11-29 11:59 UTC
    day = "since=2026-11-29&until=2026-11-29"
    assert len(any_api.get(f"/comments?{day}").json()["items"]) == 1
    assert any_api.get(f"/stats?{day}").json()["comments_per_day"][0]["comments"] == 1
    empty = "since=2026-11-30&until=2026-11-29"
    assert any_api.get(f"/comments?{empty}").json()["items"] == []
    assert any_api.get(f"/stats?{empty}").json()["comments_per_day"] == []
    filters = {"since": "2026-11-29", "until": "2026-11-29"}
    created = any_api.post("/exports", json={"format": "csv", "filters": filters}).json()
    assert created["filters"]["until"] == "2026-11-30T00:00:00Z"


def _cursor(fields: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(["-date", "2026-01-01T00:00:00+00:00", -100, 10**20]),
        _cursor(["-likes", 10**20, -100, 1]),
        _cursor(["-date", "0001-01-01T00:00:00+14:00", -100, 1]),
        _cursor(["-date", "2026-01-01T00:00:00+00:00", True, 1]),
        base64.urlsafe_b64encode(b"[" * 5000).decode(),
        "A" * 5000,
    ],
)
def test_a_cursor_that_is_not_ours_is_422(unchanged_api: Api, cursor: str) -> None:
    response = unchanged_api.get("/comments", params={"cursor": cursor})
    assert _error(response) == (422, "invalid_request", {"cursor"})


def test_a_keywords_csv_with_a_nul_rejects_that_line_only(any_api: Api) -> None:
    csv = "дорога,roads\nшко\x00ла,city\nмэр,power\n"
    response = any_api.post("/keywords/import", files={"file": ("k.csv", csv.encode())})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["rejected"]) == (2, 1)
    (rejected,) = [line for line in report["lines"] if line["status"] == "rejected"]
    assert rejected["line"] == 2
    assert "NUL" in rejected["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/groups/city", {"is_active": None}, "is_active"),
        ("/groups/city", {"priority": True}, "priority"),
        ("/groups/city", {"priority": "5"}, "priority"),
        ("/keywords/{k}", {"match_mode": None}, "match_mode"),
        ("/keywords/{k}", {"phrase": None}, "phrase"),
        ("/keywords/{k}", {"case_sensitive": 1}, "case_sensitive"),
    ],
)
def test_patch_bodies_take_what_the_schema_says(
    any_api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    keyword_id = _seed(any_api)
    response = any_api.patch(path.format(k=keyword_id), json=body)
    assert _error(response) == (422, "invalid_request", {field})
    schema = any_api.get("/openapi.json").json()["components"]["schemas"]
    model = schema["GroupUpdate" if path.startswith("/groups") else "KeywordUpdate"]
    assert "anyOf" not in model["properties"][field], "the schema must not offer null"


def test_booleans_are_booleans_in_bodies(any_api: Api) -> None:
    _seed(any_api)
    assert _error(any_api.post("/exports", json={"format": "csv", "excel": 0}))[2] == {"excel"}
    crawl = {"groups": ["city"], "full_verify": "yes"}
    assert _error(any_api.post("/jobs", json=crawl))[2] == {"full_verify"}
    crawl = {"groups": ["city"], "priority": True}
    assert _error(any_api.post("/jobs", json=crawl))[2] == {"priority"}
    bad = {"format": "csv", "filters": {"group_ids": [-1]}}
    assert _error(any_api.post("/exports", json=bad))[2] == {"filters.group_ids.0"}
    schema = any_api.get("/openapi.json").json()["components"]["schemas"]["CommentFilter"]
    assert schema["properties"]["group_ids"]["items"]["minimum"] == 1
