"""Work delivered twice, a crawl asked for while its group's job runs, beat started twice: every
group is crawled by one job and the database equals the truth, with no comment twice."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select

from fleet import Fleet, wait_for
from parser_pipeline.cli import run
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store.schema import crawl_jobs, fetch_batches, service_heartbeats, vk_groups
from private_servers import RedisServer
from reliability_kit import (
    assert_crawled_the_truth,
    count,
    crawl_setup,
    finish,
    running_batches,
    slow_faults,
    start_fleet,
)
from workers.app import create_app
from workers.tasks import FETCH_TASK

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def jobs_per_group(engine: Engine) -> dict[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(crawl_jobs.c.group_id, func.count()).group_by(crawl_jobs.c.group_id)
        ).all()
    return {group_id: n for group_id, n in rows}


def test_task_published_twice_mid_crawl_and_crawl_requested_while_running(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crawl = crawl_setup(postgres_url, private_redis, emulators, fleets, faults=slow_faults())
    engine, fleet = crawl.engine, crawl.fleet
    start_fleet(fleet, fetch_workers=2)
    wait_for(lambda: bool(running_batches(engine)), "a running batch", fleet)

    # Every batch published twice more while the crawl runs (a redelivery, a double send).
    app = create_app(load_settings(broker_url=fleet.env["VKPIPE_BROKER_URL"]))
    with engine.connect() as connection:
        batches = connection.execute(select(fetch_batches.c.id)).scalars().all()
        running_job = connection.execute(
            select(crawl_jobs.c.id, crawl_jobs.c.group_id, vk_groups.c.screen_name)
            .join(vk_groups, vk_groups.c.id == crawl_jobs.c.group_id)
            .where(crawl_jobs.c.status == "running")
            .limit(1)
        ).one()
    duplicates = [
        app.send_task(FETCH_TASK, args=[batch_id]) for batch_id in batches for _ in (1, 2)
    ]

    # `vkpipe crawl GROUP` (in this process, so the job is surely still running) asks for a
    # crawl of the same group: it is told the job is unfinished, and no second job is made.
    for name, value in fleet.env.items():
        if name.startswith("VKPIPE_"):
            monkeypatch.setenv(name, value)
    assert run(["crawl", running_job.screen_name]) == 0
    assert capsys.readouterr().out == (
        f"group {running_job.group_id}: job {running_job.id} already unfinished\n"
    )

    answers = [result.get(timeout=120) for result in duplicates]
    duplicates.clear()  # their result listeners go while Redis is still there
    gc.collect()
    app.close()
    finish(crawl, "the crawl to finish")
    assert {a["status"] for a in answers} <= {"skipped", "done"}
    assert set(jobs_per_group(engine).values()) == {1}
    engine.dispose()


def test_beat_started_twice_dispatches_no_group_twice(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
) -> None:
    crawl = crawl_setup(
        postgres_url, private_redis, emulators, fleets, VKPIPE_DISPATCH_INTERVAL_SECONDS="0.5"
    )
    engine, emulator, fleet, groups = crawl.engine, crawl.emulator, crawl.fleet, crawl.groups
    # Two dispatch workers, so passes of the two beats really run at the same time.
    fleet.worker("dispatch2", "dispatch", "-P", "threads", "-c", "2")
    start_fleet(fleet, fetch_workers=1)
    fleet.start("beat2", "beat", "-s", str(fleet.workdir / "beat2-schedule"))

    finish(crawl, "the crawl under two beats")

    # Both beats keep sending passes; let several more run over the finished crawl.
    def heartbeat() -> float:
        with engine.connect() as connection:
            seen = connection.execute(
                select(service_heartbeats.c.last_seen_at).where(service_heartbeats.c.name == "beat")
            ).scalar_one()
        return float(seen.timestamp())

    finished_at = heartbeat()
    wait_for(lambda: heartbeat() >= finished_at + 3, "three more seconds of dispatch passes")
    assert jobs_per_group(engine) == {g["id"]: 1 for g in emulator.truth()["groups"]}
    assert count(engine, crawl_jobs) == groups
    assert_crawled_the_truth(crawl)
    beats = [n for n in ("beat", "beat2") if "Sending due task dispatch-due-groups" in
             (fleet.workdir / f"{n}.log").read_text(errors="replace")]  # fmt: skip
    assert beats == ["beat", "beat2"], "both beats were really publishing"
    engine.dispose()
