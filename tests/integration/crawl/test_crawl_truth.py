"""A crawl stores exactly the emulator's ground truth, first and incremental, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.runner import CrawlReport, crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import crawl_jobs, vk_groups
from parser_pipeline.vk.client import VkClient
from truthcheck import CHECK_EVERY_CRAWL, differences

TOKENS = ("crawl-token-a", "crawl-token-b", "crawl-token-c")


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """VK answering one request in ten with one of the emulator's faults and the rest cleanly: the
    crawl is exact through both (a separate clean run added nothing but a minute of suite)."""
    config = EmulatorConfig(
        scenario="standard",
        seed=3,
        tokens=TOKENS,
        rate_limit_per_second=None,
        faults=FaultConfig.hostile(seed=7),
    )
    with run_emulator(config) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[VkClient]:
    settings = load_settings(
        vk_api_url=emulator.base_url,
        vk_tokens=",".join(TOKENS),
        vk_rps_per_token=100,
        vk_backoff_base_seconds=0.01,
        vk_backoff_cap_seconds=0.2,
        vk_max_attempts=12,
    )
    vk = VkClient.from_settings(settings)
    yield vk
    vk.close()


def _crawl_all(engine: Engine, client: VkClient) -> CrawlReport:
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    report = crawl_groups(engine, client, rows, policy=CHECK_EVERY_CRAWL)
    assert report.ok, [(g.group_id, g.status, g.error) for g in report.groups]
    return report


def test_crawl_equals_truth_a_recrawl_reads_nothing_and_an_incremental_crawl_equals_new_truth(
    engine: Engine, client: VkClient, emulator: Emulator
) -> None:
    names = sorted(emulator.world.group_screen_names())
    resolved = register_groups(engine, client, [(name, CrawlSettings()) for name in names])
    assert all(r.group is not None for r in resolved)

    first_requests = _crawl_all(engine, client).requests
    assert differences(engine, emulator.truth()) == []

    # Nothing changed on VK: the next crawl reads no post and changes nothing.
    report = _crawl_all(engine, client)
    assert [g.posts_fetched for g in report.groups] == [0] * len(names)
    assert [g.changed for g in report.groups] == [0] * len(names)
    assert differences(engine, emulator.truth()) == []
    with engine.connect() as connection:  # and the next crawl is due in the future, for each
        assert group_store.due_groups(connection, datetime.now(UTC)) == []

    emulator.advance()
    second_requests = _crawl_all(engine, client).requests
    assert differences(engine, emulator.truth()) == []
    print(f"VK requests: first crawl {first_requests}, after time moved {second_requests}")
    assert second_requests * 3 <= first_requests

    with engine.connect() as connection:
        jobs = connection.execute(select(crawl_jobs.c.status, crawl_jobs.c.comments_count)).all()
        error_codes = {
            r.id: r.last_error_code
            for r in connection.execute(select(vk_groups.c.id, vk_groups.c.last_error_code))
        }
    unreadable = {g.id for g in emulator.world.closed_groups()}
    assert unreadable, "the scenario has closed or blocked groups"
    assert {gid: code for gid, code in error_codes.items() if code} == dict.fromkeys(unreadable, 15)
    assert {status for status, _ in jobs} == {"succeeded"}
    assert len(jobs) == 3 * len(names)
