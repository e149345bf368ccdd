"""/jobs: a crawl asked over HTTP is a row the dispatcher starts; fetch batches complete it."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

from apikit import Api, add_group, vk_settings
from sqlalchemy import update

from parser_pipeline.crawl.engine import run_batch
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.emulator import Emulator
from parser_pipeline.orchestration.dispatch import dispatch, publish_all_pending
from parser_pipeline.store.batches import BatchRef
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs
from parser_pipeline.vk.client import VkClient

LOST_AFTER = timedelta(minutes=30)


def test_start_list_get_and_cancel(api: Api) -> None:
    add_group(api.engine, 100, "city", priority=3)
    add_group(api.engine, 200, "village")
    response = api.post("/jobs", json={"groups": ["city", "200"], "priority": 9})
    assert response.status_code == 202, response.text
    jobs = response.json()["jobs"]
    assert [(j["group_id"], j["created"]) for j in jobs] == [(100, True), (200, True)]
    again = api.post("/jobs", json={"groups": ["city"]}).json()["jobs"]
    assert again == [{"group_id": 100, "job_id": jobs[0]["job_id"], "created": False}]

    listed = api.get("/jobs?status=queued").json()["items"]
    assert [j["id"] for j in listed] == [jobs[1]["job_id"], jobs[0]["job_id"]]
    assert {(j["priority"], j["requested_by"]) for j in listed} == {(9, "api")}
    assert api.get("/jobs?status=running").json()["items"] == []

    detail = api.get(f"/jobs/{jobs[0]['job_id']}").json()
    assert detail["job"]["status"] == "queued"
    assert detail["progress"] == {"stage": None, "posts_by_status": {}, "calls_by_status": {}}

    cancelled = api.post(f"/jobs/{jobs[0]['job_id']}/cancel")
    assert cancelled.json() == {"id": jobs[0]["job_id"], "status": "cancelled"}
    assert api.post(f"/jobs/{jobs[0]['job_id']}/cancel").status_code == 200
    with transaction(api.engine) as connection:
        connection.execute(
            update(crawl_jobs).where(crawl_jobs.c.id == jobs[1]["job_id"]).values(status="failed")
        )
    ended = api.post(f"/jobs/{jobs[1]['job_id']}/cancel")
    assert (ended.status_code, ended.json()["status"]) == (200, "failed")


def test_bad_job_requests(api: Api) -> None:
    assert api.post("/jobs", json={"groups": ["nosuch"]}).status_code == 404
    assert api.post("/jobs", json={"groups": []}).status_code == 422
    assert api.post("/jobs", json={"groups": ["x"], "priority": 0}).status_code == 422
    assert api.get("/jobs?status=lost").status_code == 422
    assert api.get("/jobs/999").status_code == 404
    assert api.post("/jobs/999/cancel").status_code == 404


def test_a_crawl_started_over_http_is_completed_by_the_workers(
    api: Api, emulator: Emulator
) -> None:
    names = sorted(emulator.world.group_screen_names())[:2]
    for name in names:
        assert api.post("/groups", json={"group": name}).status_code == 201
    requested = api.post("/jobs", json={"groups": names}).json()["jobs"]
    job_ids = [j["job_id"] for j in requested]

    # The workers' loop, in process: the dispatcher starts the jobs and publishes batches;
    # each message runs what the fetch task runs, against the emulator over loopback.
    settings = vk_settings(emulator, api.database_url)
    client = VkClient.from_settings(settings)
    queue: deque[BatchRef] = deque()
    policy = CrawlPolicy()
    try:
        for _ in range(100):
            dispatch(api.engine, queue.append, datetime.now(UTC), policy)
            if not queue:
                break
            while queue:
                ref = queue.popleft()
                run_batch(
                    api.engine,
                    client,
                    ref.batch_id,
                    policy,
                    now=lambda: datetime.now(UTC),
                    lost_after=LOST_AFTER,
                    gather=timedelta(0),
                )
                publish_all_pending(api.engine, queue.append, datetime.now(UTC))
    finally:
        client.close()

    for job_id in job_ids:
        detail = api.get(f"/jobs/{job_id}").json()
        assert detail["job"]["status"] == "succeeded", detail
        assert detail["job"]["requests_count"] > 0
        assert detail["progress"]["stage"] is None
        assert detail["progress"]["posts_by_status"]["done"] > 1
        assert set(detail["progress"]["posts_by_status"]) <= {"done", "skipped"}
        assert detail["errors"] == []
    comments = api.get(f"/comments?group={names[0]}&limit=5").json()
    assert len(comments["items"]) == 5
