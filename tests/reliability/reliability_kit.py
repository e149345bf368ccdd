"""Helpers of the reliability suite: a fleet crawling the emulator, its truth check, counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

import fleet as fleet_support
from fleet import TOKENS, Fleet, register_all, wait_for
from parser_pipeline.emulator import Emulator, FaultConfig
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import (
    UNFINISHED_JOB_STATUSES,
    crawl_jobs,
    fetch_batches,
    vk_calls,
    vk_comments,
)
from private_servers import RedisServer
from truthcheck import differences

# Broker, VK limiter/cache: databases of the test's private Redis.
BROKER_DB, LIMITER_DB = 5, 6
# Every VK request stalls this long in the "slow" emulator, so a crawl lasts long enough to be
# hurt in the middle; a small world still needs several rounds of requests.
SLOW_SECONDS = 1.5


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )


def stored_comments(engine: Engine) -> int:
    return count(engine, vk_comments)


def running_batches(engine: Engine) -> list[Any]:
    """Fetch batches a worker holds now (claimed, not settled)."""
    with engine.connect() as connection:
        query = select(fetch_batches).where(fetch_batches.c.status == "running")
        return list(connection.execute(query))


def waiting_batches(engine: Engine) -> int:
    """Batches written or published that no worker holds yet."""
    return count(engine, fetch_batches, fetch_batches.c.status.in_(("pending", "enqueued")))


def unfinished_calls(engine: Engine) -> int:
    return count(engine, vk_calls, vk_calls.c.status.in_(("pending", "batched")))


def all_jobs_final(engine: Engine, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with engine.connect() as connection:
                statuses = list(connection.execute(select(crawl_jobs.c.status)).scalars())
        except Exception:  # the database may be the thing being restarted
            return False
        return len(statuses) >= expected and all(s not in UNFINISHED_JOB_STATUSES for s in statuses)

    return check


def job_statuses(engine: Engine) -> list[tuple[int, str, str | None]]:
    with engine.connect() as connection:
        return [
            (r.group_id, r.status, r.error)
            for r in connection.execute(
                select(crawl_jobs.c.group_id, crawl_jobs.c.status, crawl_jobs.c.error).order_by(
                    crawl_jobs.c.group_id
                )
            )
        ]


def migrated_engine(url: str) -> Engine:
    migrations.upgrade(url)
    return make_engine(url)


def slow_faults(seconds: float = SLOW_SECONDS) -> FaultConfig:
    """Every answer stalls `seconds`: the crawl has a middle to hurt, in a few seconds."""
    return FaultConfig(rates={"slow": 1.0}, slow_seconds=seconds)


def fleet_env(
    database_url: str, redis: RedisServer, emulator: Emulator, tokens: tuple[str, ...] = TOKENS
) -> dict[str, str]:
    return fleet_support.fleet_env(
        database_url=database_url,
        broker_url=redis.url(BROKER_DB),
        limiter_url=redis.url(LIMITER_DB),
        vk_api_url=emulator.base_url,
        tokens=tokens,
        lost_work_after_seconds=7,
    )


def start_fleet(fleet: Fleet, fetch_workers: int = 1) -> None:
    """`fetch_workers` fetch workers (fetch1..), one dispatch/analyze/export/notify worker, beat."""
    for n in range(1, fetch_workers + 1):
        fleet.worker(f"fetch{n}", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("misc", "dispatch,analyze,export,notify", "-P", "threads", "-c", "2")
    fleet.beat()


def all_logs(fleet: Fleet) -> str:
    """Every line every process of the fleet wrote (Fleet.logs() keeps only the tails)."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(fleet.workdir.glob("*.log")))


@dataclass
class Crawl:
    """A reliability test's subject: a fleet about to crawl an emulator's groups."""

    engine: Engine
    emulator: Emulator
    fleet: Fleet
    groups: int


def crawl_setup(
    database_url: str,
    redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
    *,
    scenario: str = "small",
    faults: FaultConfig | None = None,
    **env: str,
) -> Crawl:
    """A migrated database with the emulator's groups registered and a fleet (not started)."""
    emulator = emulators(scenario, faults=faults)
    engine = migrated_engine(database_url)
    groups = register_all(engine, emulator)
    return Crawl(engine, emulator, fleets(database_url, redis, emulator, **env), groups)


def assert_crawled_the_truth(crawl: Crawl) -> None:
    """Every job succeeded and the database holds exactly VK's comments, none twice."""
    assert {s for _, s, _ in job_statuses(crawl.engine)} == {"succeeded"}, crawl.fleet.logs()
    assert differences(crawl.engine, crawl.emulator.truth()) == []
    assert stored_comments(crawl.engine) == len(crawl.emulator.truth()["comments"])


def finish(crawl: Crawl, what: str) -> None:
    """Wait for every job to end, then `assert_crawled_the_truth`."""
    wait_for(all_jobs_final(crawl.engine, crawl.groups), what, crawl.fleet)
    assert_crawled_the_truth(crawl)
