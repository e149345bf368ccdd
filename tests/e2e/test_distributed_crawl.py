"""The fleet (two fetch workers, one dispatch/analyze/export worker, beat) crawls to the truth,
and records what `vkpipe crawl` in one process records for the same world."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update

from fleet import TOKENS, Fleet, fleet_vk_settings, jobs_final, register_all, wait_for
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import crawl_jobs, vk_groups
from parser_pipeline.vk.client import VkClient
from truthcheck import CHECK_EVERY_CRAWL, differences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def start_fleet(fleet: Fleet) -> None:
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("fetch2", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("misc", "dispatch,analyze,export", "-P", "threads", "-c", "2")
    fleet.beat()


def crawl_in_one_process(database_url: str, emulator: Emulator) -> Engine:
    """The same world crawled by `vkpipe crawl`'s runner into a database of its own."""
    migrations.upgrade(database_url)
    engine = make_engine(database_url)
    register_all(engine, emulator)
    settings = fleet_vk_settings(emulator)
    client = VkClient.from_settings(settings)
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    report = crawl_groups(engine, client, rows, policy=CHECK_EVERY_CRAWL)
    client.close()
    assert report.ok, [(g.name, g.error) for g in report.groups]
    return engine


def job_numbers(engine: Engine) -> dict[int, tuple[Any, ...]]:
    """What each group's job recorded: posts listed, comments read, calls by method, errors."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                crawl_jobs.c.group_id,
                crawl_jobs.c.posts_count,
                crawl_jobs.c.comments_count,
                crawl_jobs.c.calls,
                crawl_jobs.c.errors_count,
                crawl_jobs.c.skipped_count,
            )
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def job_requests(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.sum(crawl_jobs.c.requests_count))).scalar_one())


def hits(emulator: Emulator) -> int:
    """Requests the emulator spoiled since its counters were reset: injected faults (a whole
    request, or one inner call of an execute) and refusals by its rate limit. Each costs a crawl
    at most one request more: the retry."""
    stats = emulator.stats()
    return sum(stats["faults_injected"].values()) + stats["rate_limited"]


def test_beat_started_crawl_equals_truth_and_next_scheduled_crawl_too(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator, sqlite_url: str
) -> None:
    # One process first, faults on (the emulator's hostile preset): the truth, and its numbers.
    alone = crawl_in_one_process(sqlite_url, emulator)
    assert differences(alone, emulator.truth()) == []

    groups = register_all(fleet_engine, emulator)
    emulator.reset_stats()
    start_fleet(fleet)
    wait_for(jobs_final(fleet_engine, groups), "the first crawl of every group", fleet)
    assert differences(fleet_engine, emulator.truth()) == []
    with fleet_engine.connect() as connection:
        jobs = connection.execute(select(crawl_jobs.c.status, crawl_jobs.c.requested_by)).all()
    assert sorted(set(jobs)) == [("succeeded", "beat")]
    # Both runners are one engine: each job records the same posts, comments and calls.
    fleet_numbers, alone_numbers = job_numbers(fleet_engine), job_numbers(alone)
    assert fleet_numbers == alone_numbers, (fleet_numbers, alone_numbers)
    # Requests: the fleet packs like one process (bench/'s fleet_requests_vs_inprocess measures
    # it without faults, goal 1.1); with faults on, every request beyond that bound is the retry
    # of a request the emulator spoiled. Faults are drawn per request, so the two runs meet
    # different numbers of them: each run's own are taken out, not bounded by a factor.
    fleet_spoiled = hits(emulator)
    assert job_requests(fleet_engine) - fleet_spoiled <= 1.1 * job_requests(alone)
    alone.dispose()

    emulator.advance()
    with fleet_engine.begin() as connection:  # the crawl interval passes
        connection.execute(update(vk_groups).values(next_crawl_at=datetime.now(UTC)))
    wait_for(jobs_final(fleet_engine, 2 * groups), "the next scheduled crawl", fleet)
    assert differences(fleet_engine, emulator.truth()) == []
    with fleet_engine.connect() as connection:
        per_group = connection.execute(
            select(crawl_jobs.c.group_id, func.count()).group_by(crawl_jobs.c.group_id)
        ).all()
    assert {count for _, count in per_group} == {2}
    assert TOKENS[0] not in fleet.logs()


def test_vkpipe_crawl_with_a_broker_enqueues_and_follows_to_the_end(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator
) -> None:
    groups = register_all(fleet_engine, emulator)
    start_fleet(fleet)
    wait_for(jobs_final(fleet_engine, groups), "the first crawl of every group", fleet)
    name = sorted(emulator.world.group_screen_names())[0]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("vkpipe")), "crawl", name, "--wait"],
        env=fleet.env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "queued" in result.stdout
    assert "succeeded" in result.stdout
    with fleet_engine.connect() as connection:
        by_cli = connection.execute(
            select(crawl_jobs.c.status).where(crawl_jobs.c.requested_by == "cli")
        ).all()
    assert [status for (status,) in by_cli] == ["succeeded"]
