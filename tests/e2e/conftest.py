"""End-to-end fixtures: Redis, a migrated PostgreSQL, the emulator in-process, a fleet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from fleet import TOKENS, Fleet, fleet_env
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from servicecheck import redis_url, service_missing

# Redis databases of the e2e tests (this xdist worker's own): broker and results, VK limiter.
BROKER_URL, LIMITER_URL = redis_url("broker"), redis_url("limiter")


@pytest.fixture
def broker_urls() -> Iterator[tuple[str, str]]:
    urls = (BROKER_URL, LIMITER_URL)
    clients = [redis.Redis.from_url(u, socket_connect_timeout=2) for u in urls]
    try:
        clients[0].ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    for client in clients:
        client.flushdb()
    yield urls
    for client in clients:
        client.flushdb()
        client.close()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(
        scenario="standard",
        seed=11,
        tokens=TOKENS,
        rate_limit_per_second=None,
        faults=FaultConfig.hostile(seed=5),
    )
    with run_emulator(config) as emu:
        yield emu


@pytest.fixture
def fleet_engine(postgres_url: str) -> Iterator[Engine]:
    migrations.upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fleet(
    postgres_url: str, broker_urls: tuple[str, str], emulator: Emulator, tmp_path: Path
) -> Iterator[Fleet]:
    broker, limiter = broker_urls
    env = fleet_env(
        database_url=postgres_url,
        broker_url=broker,
        limiter_url=limiter,
        vk_api_url=emulator.base_url,
    )
    fleet = Fleet(env, tmp_path)
    yield fleet
    fleet.stop()
