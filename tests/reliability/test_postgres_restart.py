"""PostgreSQL restarted mid-crawl: in-flight batches retry, no partial batch stays, truth holds.

The server goes down (fast shutdown: sessions cut, open transactions rolled back) and stays down
until a fetch batch in flight has hit it and been put up for a retry, then comes back.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fleet import Fleet, wait_for
from parser_pipeline.emulator import Emulator
from private_servers import PostgresCluster, RedisServer
from reliability_kit import (
    crawl_setup,
    finish,
    running_batches,
    slow_faults,
    start_fleet,
    stored_comments,
    unfinished_calls,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

# Celery's line for an autoretry; the database outage reaches the task as StorageError.
STORAGE_RETRY = "retry: Retry in"


def fetch_logs(fleet: Fleet) -> str:
    return "".join(
        p.read_text(errors="replace")
        for p in fleet.workdir.glob("fetch*.log")
        if "StorageError" in p.read_text(errors="replace")
    )


def test_postgres_restarted_mid_crawl(
    private_pg: PostgresCluster,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
) -> None:
    crawl = crawl_setup(private_pg.url(), private_redis, emulators, fleets, faults=slow_faults())
    engine, fleet = crawl.engine, crawl.fleet
    start_fleet(fleet, fetch_workers=2)
    wait_for(
        lambda: stored_comments(engine) > 0 and bool(running_batches(engine)),
        "the crawl's middle: comments stored, a batch running",
        fleet,
    )
    private_pg.stop_fast()  # every session is cut, open transactions roll back
    # Down until an in-flight batch has met the outage and was put up for a retry.
    wait_for(
        lambda: STORAGE_RETRY in fetch_logs(fleet), "a fetch batch retrying on StorageError", fleet
    )
    private_pg.start()

    finish(crawl, "the crawl to finish after the restart")
    assert unfinished_calls(engine) == 0
    assert running_batches(engine) == []
    engine.dispose()
