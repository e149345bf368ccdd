"""Work is never lost: a killed worker, a flushed broker, a duplicated message end at the truth."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import Engine, func, select

from fleet import Fleet, jobs_final, register_all, wait_for
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store.schema import crawl_jobs, fetch_batches, vk_calls, vk_comments
from truthcheck import differences
from workers.app import create_app
from workers.tasks import FETCH_TASK

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


def slow_fleet(fleet: Fleet) -> None:
    """One request per second per token: the crawl lasts long enough to be hurt in the middle."""
    fleet.env["VKPIPE_VK_RPS_PER_TOKEN"] = "1"
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("fetch2", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("misc", "dispatch,analyze,export", "-P", "threads", "-c", "2")
    fleet.beat()


def batches(engine: Engine, *statuses: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(fetch_batches)
                .where(fetch_batches.c.status.in_(statuses))
            ).scalar_one()
        )


def unsent_calls(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(vk_calls)
                .where(vk_calls.c.status.in_(("pending", "batched")))
            ).scalar_one()
        )


def assert_all_succeeded_and_equal(engine: Engine, emulator: Emulator) -> None:
    with engine.connect() as connection:
        statuses = set(connection.execute(select(crawl_jobs.c.status)).scalars())
        stored = connection.execute(select(func.count()).select_from(vk_comments)).scalar_one()
    assert statuses == {"succeeded"}
    assert differences(engine, emulator.truth()) == []
    assert stored == len(emulator.truth()["comments"])


def test_fetch_worker_killed_mid_crawl(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator
) -> None:
    groups = register_all(fleet_engine, emulator)
    slow_fleet(fleet)
    wait_for(lambda: batches(fleet_engine, "done") >= 3, "the first settled batches", fleet)
    assert unsent_calls(fleet_engine) > 0
    fleet.kill("fetch1")
    wait_for(jobs_final(fleet_engine, groups), "the crawl to finish without fetch1", fleet)
    assert_all_succeeded_and_equal(fleet_engine, emulator)


def test_broker_flushed_mid_crawl(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator, broker_urls: tuple[str, str]
) -> None:
    groups = register_all(fleet_engine, emulator)
    slow_fleet(fleet)
    wait_for(lambda: batches(fleet_engine, "enqueued") >= 3, "queued batches", fleet)
    broker = redis.Redis.from_url(broker_urls[0])
    broker.flushdb()  # Redis forgets every queued message and result
    broker.close()
    wait_for(jobs_final(fleet_engine, groups), "the reconciler to finish the crawl", fleet)
    assert_all_succeeded_and_equal(fleet_engine, emulator)


def test_same_task_published_twice_changes_nothing(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator, broker_urls: tuple[str, str]
) -> None:
    groups = register_all(fleet_engine, emulator)
    # Nothing is lost here: keep the reconciler out of it, so every second run of a batch in
    # this test comes from the duplicates it publishes itself.
    fleet.env["VKPIPE_LOST_WORK_AFTER_SECONDS"] = "600"
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("misc", "dispatch,analyze,export", "-P", "threads", "-c", "2")
    fleet.beat()
    try:
        wait_for(jobs_final(fleet_engine, groups), "the first crawl", fleet)
    except AssertionError:
        with fleet_engine.connect() as connection:
            stuck = connection.execute(
                select(fetch_batches).where(fetch_batches.c.status.not_in(("done", "failed")))
            ).all()
        raise AssertionError(f"unfinished batches: {[tuple(r) for r in stuck]}") from None
    with fleet_engine.connect() as connection:
        before = connection.execute(select(crawl_jobs.c.id, crawl_jobs.c.comments_count)).all()
        done = connection.execute(select(fetch_batches.c.id)).scalars().all()

    # Publish every batch twice more, as a broker redelivery or a double click would.
    app = create_app(load_settings(broker_url=broker_urls[0]))
    duplicates = [app.send_task(FETCH_TASK, args=[batch_id]) for batch_id in done for _ in (1, 2)]
    answers = [result.get(timeout=120) for result in duplicates]
    claimed = [a for a in answers if a["status"] != "skipped"]
    assert claimed == []
    with fleet_engine.connect() as connection:
        after = connection.execute(select(crawl_jobs.c.id, crawl_jobs.c.comments_count)).all()
    assert after == before
    assert_all_succeeded_and_equal(fleet_engine, emulator)
