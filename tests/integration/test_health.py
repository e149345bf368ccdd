"""One health surface: readiness needs a live worker on each required queue, anyone sees the
verdicts and only a key the details, and serve-health answers as the API does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from parser_pipeline.api.app import create_app
from parser_pipeline.api.health_app import create_health_app
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.heartbeats import WORKER_HEARTBEAT_SECONDS, record_worker
from parser_pipeline.settings import Settings, load_settings
from parser_pipeline.store.api_keys import create_key
from parser_pipeline.store.engine import make_engine

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def pg(migrated_postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_postgres_url)
    yield engine
    engine.dispose()


def fleet_settings(database_url: str, redis_url: str, **overrides: object) -> Settings:
    return load_settings(database_url=database_url, broker_url=redis_url, **overrides)


def beat(engine: Engine, node: str, queue: str, *, age_seconds: float = 0.0) -> None:
    details = {"queues": [queue], "pool": "thread", "concurrency": 2, "metrics_dir": "/m"}
    record_worker(engine, node, details, datetime.now(UTC) - timedelta(seconds=age_seconds))


def verdicts(body: dict[str, object]) -> dict[str, str]:
    checks = body["checks"]
    assert isinstance(checks, list)
    return {c["name"]: c["verdict"] for c in checks}


def test_readiness_fails_until_every_required_queue_has_a_live_worker(
    pg: Engine, migrated_postgres_url: str, redis_url: str
) -> None:
    client = TestClient(
        create_health_app(fleet_settings(migrated_postgres_url, redis_url), engine=pg)
    )
    answer = client.get("/health/ready")
    assert answer.status_code == 503
    assert verdicts(answer.json())["workers on fetch"] == "fail"

    for queue in ALL_QUEUES:
        beat(pg, f"{queue}@host", queue)
    answer = client.get("/health/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json()["ready"] is True

    # A worker that stopped beating (killed, frozen) no longer counts.
    beat(pg, "fetch@host", "fetch", age_seconds=4 * WORKER_HEARTBEAT_SECONDS)
    answer = client.get("/health/ready")
    assert answer.status_code == 503
    assert verdicts(answer.json())["workers on fetch"] == "fail"


def test_which_queues_readiness_requires_is_configurable(
    pg: Engine, migrated_postgres_url: str, redis_url: str
) -> None:
    settings = fleet_settings(migrated_postgres_url, redis_url, health_required_queues="fetch")
    client = TestClient(create_health_app(settings, engine=pg))
    beat(pg, "fetch@host", "fetch")
    answer = client.get("/health/ready")
    assert answer.status_code == 200, answer.text
    assert verdicts(answer.json())["workers on export"] == "warn"


def test_details_need_a_key_and_the_api_answers_the_same(
    pg: Engine, migrated_postgres_url: str, redis_url: str
) -> None:
    settings = fleet_settings(migrated_postgres_url, redis_url)
    for queue in ALL_QUEUES:
        beat(pg, f"{queue}@host", queue)
    key = create_key(pg, "probe", read_only=True, now=datetime.now(UTC)).key
    probe = TestClient(create_health_app(settings, engine=pg))
    api = TestClient(create_app(settings, engine=pg))

    anonymous = probe.get("/health/ready")
    assert anonymous.status_code == 200
    assert "detail" not in anonymous.text
    assert "127.0.0.1" not in anonymous.text
    assert "PostgreSQL" not in anonymous.text
    assert api.get("/health/ready").json() == anonymous.json()

    detailed = probe.get("/health/ready", headers={"Authorization": f"Bearer {key}"})
    assert "fetch@host (thread, concurrency 2)" in detailed.text
    assert "PostgreSQL" in detailed.text
    assert api.get("/health/ready", headers={"X-API-Key": key}).json() == detailed.json()
    assert probe.get("/health/ready", headers={"X-API-Key": "vkp_no_key"}).status_code == 401
    assert probe.get("/health/live").json() == api.get("/health/live").json() == {"status": "ok"}


def test_metrics_show_the_fleet_gauges(
    pg: Engine, migrated_postgres_url: str, redis_url: str
) -> None:
    beat(pg, "fetch@host", "fetch")
    probe = TestClient(
        create_health_app(fleet_settings(migrated_postgres_url, redis_url), engine=pg)
    )
    text = probe.get("/metrics").text
    assert 'vkpipe_workers{queue="fetch"} 1.0' in text
    assert 'vkpipe_workers{queue="export"} 0.0' in text
    assert 'vkpipe_queue_length{queue="fetch"} 0.0' in text
    assert "vkpipe_oldest_unfinished_job_age_seconds 0.0" in text
    assert "vkpipe_beat_last_pass_age_seconds" not in text  # no dispatcher pass yet
