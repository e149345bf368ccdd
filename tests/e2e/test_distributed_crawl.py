"""The fleet (two fetch workers, one dispatch/analyze/export worker, beat) crawls to the truth."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update

from fleet import TOKENS, Fleet, jobs_final, register_all, wait_for
from parser_pipeline.emulator import Emulator
from parser_pipeline.store.schema import crawl_jobs, vk_groups
from truthcheck import differences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def start_fleet(fleet: Fleet) -> None:
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("fetch2", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("misc", "dispatch,analyze,export", "-P", "threads", "-c", "2")
    fleet.beat()


def test_beat_started_crawl_equals_truth_and_next_scheduled_crawl_too(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator
) -> None:
    groups = register_all(fleet_engine, emulator)
    start_fleet(fleet)

    wait_for(jobs_final(fleet_engine, groups), "the first crawl of every group", fleet)
    assert differences(fleet_engine, emulator.truth()) == []
    with fleet_engine.connect() as connection:
        jobs = connection.execute(select(crawl_jobs.c.status, crawl_jobs.c.requested_by)).all()
    assert sorted(set(jobs)) == [("succeeded", "beat")]

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
