"""VK at its worst (error 10, HTML 502s, truncated JSON, 2-second stalls, error 6/9 bursts) and a
token revoked mid-run: the fleet still stores exactly the truth."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fleet import TOKENS, Fleet, register_all, wait_for
from parser_pipeline.emulator import Emulator, FaultConfig
from private_servers import RedisServer
from reliability_kit import (
    all_jobs_final,
    all_logs,
    job_statuses,
    migrated_engine,
    start_fleet,
    stored_comments,
)
from truthcheck import differences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

# The hostile settings, per request. error6_burst starts a burst of three error 6.
HOSTILE = FaultConfig(
    seed=23,
    rates={
        "error10": 0.20,
        "http502": 0.05,
        "truncated_json": 0.05,
        "slow": 0.05,
        "error6_burst": 0.03,
        "error9": 0.03,
    },
    slow_seconds=2.0,
)


def test_hostile_vk_and_a_token_revoked_mid_run(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
) -> None:
    emulator = emulators("standard", faults=HOSTILE)
    engine = migrated_engine(postgres_url)
    groups = register_all(engine, emulator)
    fleet = fleets(postgres_url, private_redis, emulator, VKPIPE_VK_READ_TIMEOUT_SECONDS="5")
    start_fleet(fleet, fetch_workers=2)

    wait_for(lambda: stored_comments(engine) > 0, "the first stored comments", fleet)
    emulator.revoke_token(TOKENS[1])
    wait_for(all_jobs_final(engine, groups), "the crawl under hostile VK", fleet)

    assert {status for _, status, _ in job_statuses(engine)} == {"succeeded"}
    assert differences(engine, emulator.truth()) == []
    assert stored_comments(engine) == len(emulator.truth()["comments"])
    stats = emulator.stats()
    injected = stats["faults_injected"]
    assert injected.get("error10", 0) > 0, injected
    assert sum(injected.values()) >= 10, injected
    assert stats["errors_by_code"].get(5, 0) >= 1, "the revoked token was tried and dropped"
    assert TOKENS[1] not in all_logs(fleet)
    engine.dispose()
