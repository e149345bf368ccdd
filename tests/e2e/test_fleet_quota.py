"""A fleet of two fetch processes shares one daily quota: VK never answers error 29, the jobs
wait for the new quota day instead of failing, and then finish at the truth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from fleet import TOKENS, Fleet, jobs_final, register_all, wait_for
from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.services import quota_report
from parser_pipeline.settings import load_settings
from parser_pipeline.store.schema import crawl_jobs, vk_calls
from truthcheck import differences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

# The quota day of this test ends this long after it starts (VKPIPE_VK_QUOTA_RESET is a time
# of day, to the second): long enough to see the fleet wait, short enough for a test.
DAY_ENDS_IN = timedelta(seconds=25)
# VK's own day turns this much earlier (the other way round, the fleet's first call of its new
# day draws error 29 and rests an hour: tests/integration/vk/test_vk_quota_ledger.py).
VK_DAY_ENDS_EARLIER = timedelta(seconds=3)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The standard world with one wall.get a day per token: 3 calls for 6 communities."""
    config = EmulatorConfig(
        scenario="standard",
        seed=5,
        tokens=TOKENS,
        rate_limit_per_second=None,
        daily_quotas={"wall.get": 1},
    )
    with run_emulator(config) as emu:
        yield emu


def waiting_wall_calls(engine: Engine) -> int:
    with engine.connect() as connection:
        return len(
            connection.execute(
                select(vk_calls.c.id).where(
                    vk_calls.c.method == "wall.get", vk_calls.c.status == "pending"
                )
            ).all()
        )


def test_two_fetch_processes_share_the_quota_and_wait_for_the_new_day(
    fleet: Fleet, fleet_engine: Engine, emulator: Emulator
) -> None:
    groups = register_all(fleet_engine, emulator)
    ends = datetime.now(UTC) + DAY_ENDS_IN
    reset = ends.astimezone(ZoneInfo("Europe/Moscow")).time().replace(microsecond=0)
    fleet.env["VKPIPE_VK_DAILY_QUOTAS"] = "wall.get=1"
    fleet.env["VKPIPE_VK_QUOTA_RESET"] = reset.isoformat()
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("fetch2", "fetch", "-P", "threads", "-c", "4")
    fleet.worker("misc", "dispatch,analyze,export", "-P", "threads", "-c", "2")
    fleet.beat()

    # Three walls listed (one call per token), three wait: nobody failed, nothing spun.
    wait_for(lambda: waiting_wall_calls(fleet_engine) == 3, "three wall.get calls waiting", fleet)
    settings = load_settings(
        redis_url=fleet.env["VKPIPE_REDIS_URL"],
        vk_tokens=",".join(TOKENS),
        vk_daily_quotas="wall.get=1",
        vk_quota_reset=reset.isoformat(),
    )
    assert quota_report(settings).spent_lines(), "the doctor says the quota is spent"
    with fleet_engine.connect() as connection:
        statuses = set(connection.execute(select(crawl_jobs.c.status)).scalars())
    assert "failed" not in statuses
    assert emulator.stats()["errors_by_code"].get(29, 0) == 0, "the processes shared the count"
    assert sum(u.get("wall.get", 0) for u in emulator.quota_usage().values()) == 3

    # VK's day ends a little before the fleet's; the waiting walls are listed when ours does.
    wait_for(lambda: datetime.now(UTC) >= ends - VK_DAY_ENDS_EARLIER, "VK's new quota day")
    emulator.new_day()
    wait_for(jobs_final(fleet_engine, groups), "the crawl to finish in the new day", fleet)
    with fleet_engine.connect() as connection:
        statuses = set(connection.execute(select(crawl_jobs.c.status)).scalars())
    assert statuses == {"succeeded"}
    assert emulator.stats()["errors_by_code"].get(29, 0) == 0
    assert differences(fleet_engine, emulator.truth()) == []
    # The operator is told once a quota day, not once per process or per pass: the warning
    # names the day's end, and no day's end is named twice. (A second day's warning is right
    # when the calls of the new day spend the tokens again while one still waits.)
    told = [
        json.loads(line)["resets_at"]
        for path in fleet.workdir.glob("*.log")
        for line in path.read_text(errors="replace").splitlines()
        if '"vk.quota_spent_crawls_wait"' in line
    ]
    assert told, "the operator is told that crawls wait"
    assert sorted(told) == sorted(set(told)), told
