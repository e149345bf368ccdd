"""A fetch worker killed with SIGKILL twice in one crawl: the database still equals the truth."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from fleet import Fleet, register_all
from parser_pipeline.emulator import Emulator
from parser_pipeline.store.schema import fetch_batches
from private_servers import RedisServer
from reliability_kit import (
    all_jobs_final,
    job_statuses,
    migrated_engine,
    running_batches,
    slow_faults,
    start_fleet,
    stored_comments,
    wait_until,
)
from truthcheck import differences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def test_fetch_worker_killed_twice_in_one_crawl(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
) -> None:
    emulator = emulators(faults=slow_faults())
    engine: Engine = migrated_engine(postgres_url)
    groups = register_all(engine, emulator)
    fleet = fleets(postgres_url, private_redis, emulator)
    start_fleet(fleet, fetch_workers=1)

    # First kill: comments are stored and a batch is in the worker's hands.
    wait_until(
        lambda: stored_comments(engine) > 0 and bool(running_batches(engine)),
        "a running batch after the first stored comments",
        fleet,
    )
    first_claims = {item.claimed_by for item in running_batches(engine)}
    fleet.kill("fetch1")
    fleet.worker("fetch2", "fetch", "-P", "threads", "-c", "4")

    # Second kill: the replacement has taken lost work back (a new claim) and is on it.
    wait_until(
        lambda: any(
            item.claimed_by not in first_claims and item.attempts >= 2
            for item in running_batches(engine)
        ),
        "the replacement worker to run a batch the killed one lost",
        fleet,
    )
    fleet.kill("fetch2")
    fleet.worker("fetch3", "fetch", "-P", "threads", "-c", "4")

    wait_until(all_jobs_final(engine, groups), "the crawl to finish after two kills", fleet)
    assert {status for _, status, _ in job_statuses(engine)} == {"succeeded"}
    assert differences(engine, emulator.truth()) == []
    assert stored_comments(engine) == len(emulator.truth()["comments"])
    with engine.connect() as connection:
        attempts = list(connection.execute(select(fetch_batches.c.attempts)).scalars())
    assert max(attempts) >= 3, "one batch was lost twice and run a third time"
    engine.dispose()
