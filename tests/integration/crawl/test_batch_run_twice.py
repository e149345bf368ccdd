"""A batch taken for lost while its first runner still sends is run twice: both runs settle, and
the crawl records what one run records (the second finds its calls answered and adds nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from parser_pipeline.crawl import engine as crawl_engine
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.orchestration.dispatch import dispatch
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs, fetch_batches
from parser_pipeline.vk.client import VkClient
from truthcheck import differences

TOKENS = ("twice-token-a", "twice-token-b")
LOST_AFTER = timedelta(seconds=30)
POLICY = CrawlPolicy()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(scenario="small", seed=3, tokens=TOKENS, rate_limit_per_second=None)
    with run_emulator(config) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[VkClient]:
    settings = load_settings(
        vk_api_url=emulator.base_url, vk_tokens=",".join(TOKENS), vk_rps_per_token=100
    )
    vk = VkClient.from_settings(settings)
    yield vk
    vk.close()


def _register(engine: Engine, client: VkClient, emulator: Emulator) -> None:
    names = sorted(emulator.world.group_screen_names())
    register_groups(engine, client, [(name, CrawlSettings()) for name in names])


def _job_numbers(engine: Engine) -> dict[int, tuple[Any, ...]]:
    c = crawl_jobs.c
    with engine.connect() as connection:
        rows = connection.execute(
            select(c.group_id, c.status, c.posts_count, c.comments_count, c.calls, c.errors_count)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def _crawl_running_every_batch_twice(engine: Engine, client: VkClient) -> int:
    """The fleet's path (dispatch, take, send, settle), each batch claimed by a runner, taken for
    lost, claimed by a second runner; both send, the second settles first. Returns the number
    of batches run twice."""
    twice = 0
    while True:
        now = datetime.now(UTC)
        dispatch(engine, lambda _ref: None, now, POLICY, gather=timedelta(0))
        with engine.connect() as connection:
            open_jobs = connection.execute(
                select(crawl_jobs.c.id).where(crawl_jobs.c.status.in_(UNFINISHED_JOB_STATUSES))
            ).all()
            waiting = connection.execute(
                select(fetch_batches.c.id).where(fetch_batches.c.status == "enqueued")
            ).scalars()
            batch_ids = list(waiting)
        if not open_jobs:
            return twice
        assert batch_ids, "open jobs with nothing to send"
        for batch_id in batch_ids:
            first = crawl_engine.take(engine, batch_id, now, LOST_AFTER, "runner-a")
            with engine.begin() as connection:  # runner a goes quiet for longer than LOST_AFTER
                connection.execute(
                    update(fetch_batches)
                    .where(fetch_batches.c.id == batch_id)
                    .values(updated_at=now - 2 * LOST_AFTER)
                )
            second = crawl_engine.take(engine, batch_id, now, LOST_AFTER, "runner-b")
            assert first is not None
            assert second is not None
            sent_first = crawl_engine.send(client, first)
            sent_second = crawl_engine.send(client, second)
            crawl_engine.settle(engine, second, sent_second, now, POLICY)
            again = crawl_engine.settle(engine, first, sent_first, now, POLICY)
            assert (again.comments, again.changed, again.ended) == (0, [], [])
            twice += 1


def test_a_batch_run_twice_is_recorded_once(
    engine: Engine, client: VkClient, emulator: Emulator, tmp_path: Path
) -> None:
    _register(engine, client, emulator)
    assert _crawl_running_every_batch_twice(engine, client) > 0
    assert differences(engine, emulator.truth()) == []

    # The same world crawled once, by one process, into a database of its own.
    alone_url = f"sqlite:///{tmp_path / 'alone.db'}"
    migrations.upgrade(alone_url)
    alone = make_engine(alone_url)
    _register(alone, client, emulator)
    with alone.connect() as connection:
        rows = group_store.list_groups(connection)
    assert crawl_groups(alone, client, rows, policy=POLICY).ok
    assert _job_numbers(engine) == _job_numbers(alone)
    alone.dispose()
