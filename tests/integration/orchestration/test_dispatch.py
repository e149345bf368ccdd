"""The dispatcher: due groups become one job each, jobs start, their calls are packed across
groups and every batch is published once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select, update

from parser_pipeline.crawl.jobs import CrawlPolicy, begin_job
from parser_pipeline.orchestration.dispatch import create_due_jobs, dispatch
from parser_pipeline.orchestration.requests import cancel_job, request_crawl
from parser_pipeline.records import GroupInfo
from parser_pipeline.store.batches import BatchRef
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs, fetch_batches, vk_calls, vk_groups
from parser_pipeline.store.writes import upsert_groups
from workers.tasks import broker_priority

POLICY = CrawlPolicy()

GROUPS = 60


def _add_groups(engine: Engine, count: int = GROUPS) -> None:
    with transaction(engine) as connection:
        upsert_groups(
            connection,
            [
                GroupInfo(id=1000 + i, screen_name=f"g{i}", name=f"G {i}", is_closed=0)
                for i in range(count)
            ],
        )
        connection.execute(
            update(vk_groups).where(vk_groups.c.id < 1000 + count // 2).values(priority=9)
        )


def _jobs_per_group(engine: Engine) -> dict[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(crawl_jobs.c.group_id, func.count()).group_by(crawl_jobs.c.group_id)
        )
        return {group_id: count for group_id, count in rows}


def test_two_dispatchers_at_once_never_start_a_group_twice(engine: Engine) -> None:
    _add_groups(engine)
    now = datetime.now(UTC)
    start = threading.Barrier(2)

    def one_dispatcher(_: int) -> int:
        start.wait()
        return create_due_jobs(engine, now)

    with ThreadPoolExecutor(2) as pool:
        created = list(pool.map(one_dispatcher, range(2)))
    assert sum(created) == GROUPS
    assert _jobs_per_group(engine) == {1000 + i: 1 for i in range(GROUPS)}


def test_full_passes_at_once_publish_each_batch_once_packed_across_groups(
    engine: Engine,
) -> None:
    _add_groups(engine)
    now = datetime.now(UTC)
    published: list[BatchRef] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def publish(ref: BatchRef) -> None:
        with lock:
            published.append(ref)

    def one_pass(_: int) -> None:
        start.wait()
        dispatch(engine, publish, now, POLICY)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one_pass, range(2)))
    # 60 groups' first wall pages: two full batches at once; the other 10 calls wait while
    # batches are out (their follow-ups may fill a batch), until `gather` has passed.
    assert len({ref.batch_id for ref in published}) == len(published) == 2
    dispatch(engine, publish, now + timedelta(seconds=2), POLICY)
    assert len({ref.batch_id for ref in published}) == len(published) == 3
    with engine.connect() as connection:
        sizes = list(connection.execute(select(fetch_batches.c.calls)).scalars())
        calls = connection.execute(select(vk_calls.c.kind, vk_calls.c.status)).all()
        statuses = set(connection.execute(select(fetch_batches.c.status)).scalars())
        started = set(connection.execute(select(crawl_jobs.c.status)).scalars())
    assert sorted(sizes) == [10, 25, 25]
    assert len(calls) == GROUPS
    assert set(calls) == {("wall", "batched")}
    assert statuses == {"enqueued"}
    assert started == {"running"}
    # Priority 9 jobs go first and map to Redis priority 1 (0 is the most urgent).
    assert published[0].priority == 9
    assert broker_priority(published[0].priority) == 1


def test_a_group_is_not_due_again_while_its_job_is_unfinished(engine: Engine) -> None:
    _add_groups(engine, 3)
    now = datetime.now(UTC)
    assert create_due_jobs(engine, now) == 3
    assert create_due_jobs(engine, now + timedelta(hours=5)) == 0
    assert _jobs_per_group(engine) == {1000: 1, 1001: 1, 1002: 1}


def test_manual_request_joins_the_unfinished_job(engine: Engine) -> None:
    _add_groups(engine, 1)
    now = datetime.now(UTC)
    first = request_crawl(engine, ["g0"], requested_by="cli", now=now)
    second = request_crawl(engine, ["1000"], requested_by="api", now=now)
    assert first[0].created
    assert not second[0].created
    assert second[0].job_id == first[0].job_id
    assert cancel_job(engine, first[0].job_id, now) == "cancelled"
    third = request_crawl(engine, ["g0"], requested_by="cli", now=now)
    assert third[0].created
    assert third[0].job_id != first[0].job_id


def test_cancelled_job_drops_its_waiting_calls(engine: Engine) -> None:
    _add_groups(engine, 1)
    now = datetime.now(UTC)
    [request] = request_crawl(engine, ["g0"], requested_by="cli", now=now)
    with transaction(engine) as connection:  # the job starts, but its call waits to be packed
        begin_job(connection, request.job_id, now, POLICY, runner="test")
    assert cancel_job(engine, request.job_id, now) == "cancelled"
    assert cancel_job(engine, request.job_id, now) == "cancelled"  # ended: it stays so
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(vk_calls)).scalar() == 0
    with transaction(engine) as connection:  # not due again: nothing may start it anew
        connection.execute(update(vk_groups).values(is_active=False))
    sent: list[BatchRef] = []
    dispatch(engine, sent.append, now, POLICY)
    assert sent == []
