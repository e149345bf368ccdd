"""A fetch worker killed with SIGKILL twice in one crawl: the database still equals the truth."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from fleet import Fleet, wait_for
from parser_pipeline.emulator import Emulator
from parser_pipeline.store.schema import fetch_batches
from private_servers import RedisServer
from reliability_kit import (
    crawl_setup,
    finish,
    running_batches,
    slow_faults,
    start_fleet,
    stored_comments,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def test_fetch_worker_killed_twice_in_one_crawl(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
) -> None:
    crawl = crawl_setup(postgres_url, private_redis, emulators, fleets, faults=slow_faults())
    engine, fleet = crawl.engine, crawl.fleet
    start_fleet(fleet, fetch_workers=1)

    # First kill: comments are stored and a batch is in the worker's hands.
    wait_for(
        lambda: stored_comments(engine) > 0 and bool(running_batches(engine)),
        "a running batch after the first stored comments",
        fleet,
    )
    first_claims = {item.claimed_by for item in running_batches(engine)}
    fleet.kill("fetch1")
    fleet.worker("fetch2", "fetch", "-P", "threads", "-c", "4")

    # Second kill: the replacement has taken lost work back (a new claim) and is on it.
    wait_for(
        lambda: any(
            item.claimed_by not in first_claims and item.attempts >= 2
            for item in running_batches(engine)
        ),
        "the replacement worker to run a batch the killed one lost",
        fleet,
    )
    fleet.kill("fetch2")
    fleet.worker("fetch3", "fetch", "-P", "threads", "-c", "4")

    finish(crawl, "the crawl to finish after two kills")
    with engine.connect() as connection:
        attempts = list(connection.execute(select(fetch_batches.c.attempts)).scalars())
    assert max(attempts) >= 3, "one batch was lost twice and run a third time"
    engine.dispose()
