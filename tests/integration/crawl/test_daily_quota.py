"""A simulated day of hourly crawls within VK's daily wall.get quota, and a quota run out.

The emulator's clock is the world's (each advance() is an hour) and so is the crawler's, with
the default post-age tiers: young posts are checked every crawl, old ones daily; a full re-read
comes every 6 hours for young posts and every 30 days for old ones.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.crawl.runner import CrawlReport, crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.emulator.timeline import advance
from parser_pipeline.emulator.world import World
from parser_pipeline.gauges import quota_remaining
from parser_pipeline.services import quota_report
from parser_pipeline.settings import Settings, load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import crawl_jobs, vk_posts
from parser_pipeline.tiers import DEFAULT_TIERS, check_due, verify_due
from parser_pipeline.vk.client import VkClient
from truthcheck import database_state, differences, truth_state

TOKENS = ("quota-token-0001", "quota-token-0002", "quota-token-0003")
# The world begins at 03:00 Moscow time; a quota day that begins then holds the whole day.
RESET = "03:00"
HOURS = 23  # crawls at 0 h, then after each of 23 advances: 24 crawls in one quota day
POLICY = CrawlPolicy(DEFAULT_TIERS)
# Every how many crawls the test compares the whole database with VK: a comparison costs more
# than a crawl, so every fourth crawl's due posts are checked.
CHECK_EVERY_HOURS = 4


def world_clock(emu: Emulator) -> datetime:
    return datetime.fromtimestamp(emu.world.now, UTC)


def settings_for(emu: Emulator, database_url: str, quota: int) -> Settings:
    return load_settings(
        database_url=database_url,
        vk_api_url=emu.base_url,
        vk_tokens=",".join(TOKENS),
        vk_rps_per_token=100,
        vk_backoff_base_seconds=0.01,
        vk_backoff_cap_seconds=0.1,
        vk_daily_quotas=f"wall.get={quota}",
        vk_quota_reset=RESET,
    )


@pytest.fixture
def database(migrated_sqlite_url: str) -> Iterator[tuple[str, Engine]]:
    url = migrated_sqlite_url
    engine = make_engine(url)
    yield url, engine
    engine.dispose()


def emulator_with(quota: int, reset_hour: int = 3) -> Any:
    return run_emulator(
        EmulatorConfig(
            scenario="standard",
            seed=21,
            tokens=TOKENS,
            rate_limit_per_second=None,
            daily_quotas={"wall.get": quota},
            quota_reset_hour=reset_hour,
            quota_time="world",
        )
    )


def full_listing_cost(hours: int) -> int:
    """wall.get calls that listing every wall in full every hour would take (pages of 100)."""
    world = World("standard", 21)
    total = 0
    for hour in range(hours + 1):
        if hour:
            advance(world, pairs=1)
        total += sum(
            max(1, math.ceil(len(world.wall(g.owner_id)) / 100)) for g in world.groups if g.target
        )
    return total


def crawl(engine: Engine, client: VkClient, emu: Emulator, **kwargs: Any) -> CrawlReport:
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    return crawl_groups(
        engine, client, rows, policy=POLICY, clock=lambda: world_clock(emu), **kwargs
    )


def post_states(engine: Engine) -> dict[tuple[int, int], Any]:
    with engine.connect() as connection:
        return {
            (r.owner_id, r.post_id): r
            for r in connection.execute(
                select(
                    vk_posts.c.owner_id,
                    vk_posts.c.post_id,
                    vk_posts.c.date,
                    vk_posts.c.comments_checked_at,
                    vk_posts.c.comments_verified_at,
                    vk_posts.c.comments_synced_at,
                )
            )
        }


class WaitingCrawl:
    """A crawl in a thread that the test watches: what it said it waits for, and its report."""

    def __init__(self, engine: Engine, client: VkClient, emu: Emulator) -> None:
        self.told: list[dict[str, datetime]] = []
        self.reports: list[CrawlReport] = []
        self._said = threading.Condition()
        self._thread = threading.Thread(
            target=lambda: self.reports.append(crawl(engine, client, emu, on_wait=self._on_wait))
        )
        self._thread.start()

    def _on_wait(self, methods: Any) -> None:
        with self._said:
            self.told.append(dict(methods))
            self._said.notify_all()

    def wait_told(self, times: int) -> None:
        """Until the crawl has said `times` times what it waits for."""
        with self._said:
            assert self._said.wait_for(lambda: len(self.told) >= times, 120), self.told

    def finish(self) -> CrawlReport:
        self._thread.join(120)
        assert not self._thread.is_alive(), "the crawl did not go on"
        [report] = self.reports
        return report


def _by_post(comments: dict[Any, dict[str, Any]]) -> dict[tuple[int, int], dict[Any, Any]]:
    grouped: dict[tuple[int, int], dict[Any, Any]] = {}
    for key, row in comments.items():
        grouped.setdefault((key[0], row["post_id"]), {})[key] = row
    return grouped


def stale_posts(engine: Engine, emu: Emulator) -> tuple[set[Any], set[Any]]:
    """Posts whose stored count, and posts whose stored comments, differ from VK's now."""
    got, want = database_state(engine), truth_state(emu.truth())
    counts = {
        key
        for key, row in want["posts"].items()
        if got["posts"].get(key, {}).get("comments_count") != row["comments_count"]
    }
    mine, theirs = _by_post(got["comments"]), _by_post(want["comments"])
    comments = {key for key in set(mine) | set(theirs) if mine.get(key) != theirs.get(key)}
    return counts, comments


def test_a_day_of_hourly_crawls_stays_within_the_quota_and_ends_at_the_truth(
    database: tuple[str, Engine],
) -> None:
    url, engine = database
    quota = 55  # per token: 165 a day for three
    assert full_listing_cost(HOURS) > 3 * quota, "listing every wall in full would not fit"
    with emulator_with(quota) as emu:
        client = VkClient.from_settings(settings_for(emu, url, quota), now=lambda: world_clock(emu))
        names = sorted(emu.world.group_screen_names())
        register_groups(engine, client, [(n, CrawlSettings()) for n in names])
        assert crawl(engine, client, emu).ok
        assert differences(engine, emu.truth()) == []
        for hour in range(1, HOURS + 1):
            emu.advance(pairs=1)
            now = world_clock(emu)
            before = post_states(engine)
            report = crawl(engine, client, emu)
            assert report.ok, [(g.name, g.error) for g in report.groups]
            if hour % CHECK_EVERY_HOURS:
                continue
            stale_counts, stale_comments = stale_posts(engine, emu)
            for key, post in before.items():
                # Whatever the tier says is due is read in this crawl, and is then exact.
                if check_due(
                    post.date, post.comments_checked_at, now=now, since=now, tiers=DEFAULT_TIERS
                ):
                    assert key not in stale_counts, f"post {key} was due for a check"
                last_full = post.comments_verified_at or post.comments_synced_at
                if verify_due(post.date, last_full, now=now, since=now, tiers=DEFAULT_TIERS):
                    assert key not in stale_comments, f"post {key} was due for a full read"
        stats = emu.stats()
        used = emu.quota_usage()
        # Every month-old post's tier comes due: the last crawl reads everything owed.
        emu.pass_time(31 * 86_400)
        assert crawl(engine, client, emu).ok
        client.close()
    assert stats["errors_by_code"].get(29, 0) == 0, "a planned call met error 29"
    assert max(u.get("wall.get", 0) for u in used.values()) <= quota
    assert sum(u.get("wall.get", 0) for u in used.values()) == 6 * (HOURS + 1), (
        "one wall.get per community per crawl"
    )
    assert differences(engine, emu.truth()) == []


def test_when_the_quota_runs_out_jobs_wait_for_the_new_day_and_finish_exactly(
    database: tuple[str, Engine],
) -> None:
    url, engine = database
    with emulator_with(1) as emu:  # one wall.get per token a day: 3 for 6 communities
        settings = settings_for(emu, url, 1)
        client = VkClient.from_settings(settings, now=lambda: world_clock(emu))
        names = sorted(emu.world.group_screen_names())
        register_groups(engine, client, [(n, CrawlSettings()) for n in names])
        running = WaitingCrawl(engine, client, emu)
        running.wait_told(1)
        with engine.connect() as connection:
            statuses = list(connection.execute(select(crawl_jobs.c.status)).scalars())
        assert "running" in statuses
        assert "failed" not in statuses
        next_day = datetime(2024, 6, 2, 0, 0, tzinfo=UTC)  # 03:00 Moscow time
        assert running.told == [{"wall.get": next_day}]
        remaining = quota_remaining(settings, world_clock(emu))  # what /metrics shows
        assert sorted(remaining) == [("wall.get", f"…{t[-4:]}", 0) for t in TOKENS]
        lines = quota_report(settings, world_clock(emu)).spent_lines()  # what the doctor says
        assert lines == [
            "the daily quota of wall.get is spent on all 3 tokens (…0001, …0002, …0003) until "
            "2024-06-02 03:00 MSK: crawls that need it wait for then"
        ]
        emu.pass_time((next_day - world_clock(emu)).total_seconds())
        report = running.finish()
        client.close()
        stats = emu.stats()
        truth = emu.truth()
    assert report.ok
    assert len(running.told) == 1, "told once"
    assert stats["errors_by_code"].get(29, 0) == 0
    assert differences(engine, truth) == []


def test_when_vks_day_ends_later_than_configured_a_crawl_loses_an_hour_not_the_day(
    database: tuple[str, Engine],
) -> None:
    url, engine = database
    with emulator_with(1, reset_hour=4) as emu:  # VK's day ends at 04:00, ours at 03:00
        client = VkClient.from_settings(settings_for(emu, url, 1), now=lambda: world_clock(emu))
        names = sorted(emu.world.group_screen_names())
        register_groups(engine, client, [(n, CrawlSettings()) for n in names])
        emu.pass_time(3600)  # 04:00: the crawl starts in one day, ours and VK's
        running = WaitingCrawl(engine, client, emu)
        running.wait_told(1)
        our_new_day = datetime(2024, 6, 2, 0, 0, tzinfo=UTC)  # 03:00 Moscow time
        emu.pass_time((our_new_day - world_clock(emu)).total_seconds())
        # VK refuses every token (error 29): each rests an hour, which is when VK's day begins.
        running.wait_told(2)
        assert running.told[1] == {"wall.get": datetime(2024, 6, 2, 1, 0, tzinfo=UTC)}
        assert emu.stats()["errors_by_code"].get(29, 0) == len(TOKENS)
        emu.pass_time(3600)
        report = running.finish()
        client.close()
        stats = emu.stats()
        truth = emu.truth()
    assert report.ok
    assert stats["errors_by_code"].get(29, 0) == len(TOKENS), "one refused request per token"
    assert differences(engine, truth) == []
