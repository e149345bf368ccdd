"""HEAD, Allow, idempotent cancel, conflicting keys, offline docs, and exports owned by keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from apikit import NOW, Api, add_comments, add_group
from sqlalchemy import update

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.export.jobs import run_export_job
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs, export_jobs


def test_head_answers_every_get_with_its_headers_and_no_body(api: Api) -> None:
    add_group(api.engine, 100, "city")
    for path in ("/groups", "/groups/city", "/comments", "/stats", "/health/live", "/docs"):
        get, head = api.get(path), api.client.head(path, headers=api.rw)
        assert (head.status_code, head.content) == (get.status_code, b""), path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-length"] == get.headers["content-length"], path


def test_405_names_every_method_of_the_path(api: Api) -> None:
    for method, path, allowed in (
        ("PUT", "/groups/5", "DELETE, GET, HEAD, PATCH"),
        ("DELETE", "/groups", "GET, HEAD, POST"),
        ("GET", "/jobs/1/cancel", "POST"),
    ):
        response = api.client.request(method, path, headers=api.rw)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allowed, (method, path)
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_cancel_answers_the_same_for_every_ended_job(api: Api) -> None:
    add_group(api.engine, 100, "city")
    add_group(api.engine, 200, "village")
    jobs = api.post("/jobs", json={"groups": ["city", "village"]}).json()["jobs"]
    first, second = (j["job_id"] for j in jobs)
    assert api.post(f"/jobs/{first}/cancel").json() == {"id": first, "status": "cancelled"}
    again = api.post(f"/jobs/{first}/cancel")
    assert (again.status_code, again.json()) == (200, {"id": first, "status": "cancelled"})
    for status in ("succeeded", "failed"):
        with transaction(api.engine) as connection:
            connection.execute(
                update(crawl_jobs).where(crawl_jobs.c.id == second).values(status=status)
            )
        ended = api.post(f"/jobs/{second}/cancel")
        assert (ended.status_code, ended.json()) == (200, {"id": second, "status": status})


def test_two_different_keys_in_one_request_are_refused(api: Api) -> None:
    both = {**api.ro, **api.rw}
    response = api.client.post("/keywords", headers=both, json={"phrase": "дорога"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "conflicting_api_keys"
    same = {"X-API-Key": api.rw["Authorization"].removeprefix("Bearer "), **api.rw}
    assert api.client.get("/groups", headers=same).status_code == 200


def test_a_patch_that_would_copy_a_rule_names_the_rule(api: Api) -> None:
    with transaction(api.engine) as connection:
        road, school = add_keywords(connection, [make_spec("дорога"), make_spec("школа")])
    response = api.patch(f"/keywords/{school.id}", json={"phrase": "дорога"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("keyword_exists", {"keyword_id": road.id})


def test_the_docs_need_no_key_and_no_internet(api: Api) -> None:
    for path in ("/docs", "/redoc"):
        page = api.client.get(path)
        assert page.status_code == 200, path
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets, path
        for asset in assets:
            assert asset.startswith("/docs/assets/"), (path, asset)
            assert api.client.get(asset).status_code == 200, asset
    assert api.client.get("/openapi.json").status_code == 200


def _export(api: Api, headers: dict[str, str]) -> int:
    response = api.client.post("/exports", headers=headers, json={"format": "csv"})
    assert response.status_code == 202, response.text
    job_id = int(response.json()["id"])
    run_export_job(api.engine, job_id, lambda: datetime.now(UTC))
    return job_id


def test_an_export_belongs_to_the_key_that_asked_for_it(api: Api) -> None:
    add_group(api.engine, 100, "city")
    add_comments(api.engine, 100, [{"comment_id": 1}])
    other = keys.create_key(api.engine, "other", read_only=False, now=NOW)
    admin = keys.create_key(api.engine, "admin", read_only=True, admin=True, now=NOW)
    theirs = {"X-API-Key": other.key}
    mine, foreign = _export(api, api.rw), _export(api, theirs)

    assert [e["id"] for e in api.get("/exports").json()["items"]] == [mine]
    assert api.get(f"/exports/{foreign}").status_code == 404
    assert api.get(f"/exports/{foreign}/file").status_code == 404
    assert api.get(f"/exports/{mine}/file").status_code == 200
    assert [e["id"] for e in api.client.get("/exports", headers=theirs).json()["items"]] == [
        foreign
    ]
    everyone = {"X-API-Key": admin.key}
    listed = api.client.get("/exports", headers=everyone).json()["items"]
    assert [e["id"] for e in listed] == [foreign, mine]
    assert api.client.get(f"/exports/{mine}/file", headers=everyone).status_code == 200


def test_no_download_url_for_a_file_that_cannot_be_downloaded(api: Api, tmp_path: Path) -> None:
    add_group(api.engine, 100, "city")
    job_id = _export(api, api.rw)
    assert api.get(f"/exports/{job_id}").json()["download_url"] == f"/exports/{job_id}/file"
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("x")
    with transaction(api.engine) as connection:
        connection.execute(
            update(export_jobs).where(export_jobs.c.id == job_id).values(path=str(outside))
        )
    assert api.get(f"/exports/{job_id}").json()["download_url"] is None
    assert api.get(f"/exports/{job_id}/file").status_code == 404
