"""Metrics after a crawl show exactly the requests VK saw and the comments the crawl stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from parser_pipeline.api.health_app import create_health_app
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import EmulatorConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.vk.client import VkClient

TOKEN = "metrics-token-1"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_total() -> float:
    return sum(
        s.value
        for metric in REGISTRY.collect()
        if metric.name == "vkpipe_vk_requests"
        for s in metric.samples
        if s.name == "vkpipe_vk_requests_total"
    )


@pytest.fixture
def health_server(migrated_database_url: str, engine: Engine) -> Iterator[TestClient]:
    """`vkpipe serve-health`'s app on this database (embedded: this process's metrics)."""
    settings = load_settings(database_url=migrated_database_url)
    with TestClient(create_health_app(settings, engine=engine)) as client:
        yield client


def test_metrics_after_a_crawl_show_the_expected_counts(
    engine: Engine, health_server: TestClient
) -> None:
    config = EmulatorConfig(scenario="small", seed=4, tokens=(TOKEN,), rate_limit_per_second=None)
    with run_emulator(config) as emu:
        client = VkClient.from_settings(load_settings(vk_api_url=emu.base_url, vk_tokens=TOKEN))
        names = sorted(emu.world.group_screen_names())
        register_groups(engine, client, [(n, CrawlSettings()) for n in names])
        with engine.connect() as connection:
            groups = group_store.list_groups(connection)
        emu.reset_stats()
        requests_before = requests_total()
        stored_before = sample("vkpipe_comments_stored_total")
        jobs_before = sample("vkpipe_job_duration_seconds_count", status="succeeded")
        crawl_groups(engine, client, groups)
        client.close()
        vk_saw = emu.stats()["total_requests"]
        truth = emu.truth()

    assert requests_total() - requests_before == vk_saw
    assert sample("vkpipe_comments_stored_total") - stored_before == len(truth["comments"])
    assert sample("vkpipe_job_duration_seconds_count", status="succeeded") - jobs_before == len(
        names
    )

    text = health_server.get("/metrics").text
    assert "vkpipe_vk_requests_total{method=" in text
    assert "vkpipe_oldest_unfinished_job_age_seconds 0.0" in text
    assert health_server.get("/health/live").status_code == 200
    assert health_server.get("/health/ready").status_code == 200
