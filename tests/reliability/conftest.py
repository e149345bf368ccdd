"""Reliability fixtures: private Redis/PostgreSQL servers a test may hurt, emulators, fleets.

Outages are staged only on servers the test started itself (private_servers.py); the shared
PostgreSQL serves fresh per-test databases (the root conftest's `postgres_url`), as in tests/e2e.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from fleet import TOKENS, Fleet
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from private_servers import PostgresCluster, RedisServer, pg_cluster
from reliability_kit import fleet_env
from servicecheck import service_missing


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server only this test uses: it may be killed and restarted empty."""
    if shutil.which("redis-server") is None:
        service_missing("redis-server (private Redis for outage tests)", "not installed")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_pg() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster only this test uses: it may be restarted mid-crawl."""
    yield from pg_cluster()


@pytest.fixture
def emulators() -> Iterator[Callable[..., Emulator]]:
    """Start emulators: `emulators(scenario=..., faults=..., tokens=...)`; stopped afterwards."""
    with ExitStack() as stack:

        def start(
            scenario: str = "small",
            *,
            seed: int = 11,
            tokens: tuple[str, ...] = TOKENS,
            faults: FaultConfig | None = None,
        ) -> Emulator:
            config = EmulatorConfig(
                scenario=scenario,
                seed=seed,
                tokens=tokens,
                rate_limit_per_second=None,
                faults=faults or FaultConfig.off(),
            )
            return stack.enter_context(run_emulator(config))

        yield start


@pytest.fixture
def fleets(tmp_path: Path) -> Iterator[Callable[..., Fleet]]:
    """Build fleets: `fleets(database_url, redis, emulator, **env)`; all stopped afterwards."""
    made: list[Fleet] = []

    def make(
        database_url: str,
        redis: RedisServer,
        emulator: Emulator,
        tokens: tuple[str, ...] = TOKENS,
        **overrides: str,
    ) -> Fleet:
        workdir = tmp_path / f"fleet{len(made)}"
        workdir.mkdir()
        env = fleet_env(database_url, redis, emulator, tokens)
        env.update(overrides)
        fleet = Fleet(env, workdir)
        made.append(fleet)
        return fleet

    yield make
    for fleet in made:
        fleet.stop()
