"""Benchmark: wall.get calls against VK's daily quota, vkpipe's re-crawls vs listing every wall.

Run: `.venv/bin/python -m bench quota [--quick]` (or `-m bench.quota`). VK answers about 5,000
`wall.get` calls a day per token (../shared/VK_API.md, "Rate limits"). Every count below is the
emulator's (plain calls and calls inside `execute` alike), on worlds built by the emulator's own
generator with the sizes stated here; the crawl is `crawl_groups` into a migrated SQLite database,
with the default post-age tiers and the world's clock (each `advance()` is an hour).

- `wall_get_per_recrawl`: communities of 40 to 2,500 posts (40 to 250 in `--quick`), whose
  comments change every hour but which get no new posts: after the first crawl, hourly re-crawls
  (12; 4 in `--quick`); wall.get calls per community per re-crawl. Goal ≤ 1 (issue 16).
- `groups_per_token_per_day`: one community of 5,000 posts (1,000 in `--quick`; a pinned post
  among them) with 2 new posts an hour (48 a day) and 8 posts' comments changing an hour, crawled
  hourly for one quota day (24 crawls after the first, which lists the wall once and is left out)
  by two databases side by side, one token each: vkpipe as it is, and the full-listing approach
  (every crawl lists the whole wall: the bench clears the group's listing watermark before each
  crawl, so the engine lists it as on a first crawl; a full verification would not do, it re-checks
  counts by wall.getById and still reads only the top of the wall). The figure is how many such
  communities one token's 5,000 calls keep at that interval: ⌊5,000 ÷ wall.get calls a day⌋;
  the baseline the same for the full listing.
Each database must end holding every comment VK shows, and none it never showed (after a catch-up
crawl a month later, when every post is due for a full re-read), or the run fails: a cheap crawl
that missed data proves nothing. Comments added and deleted between two due checks of an old post
were shown to no crawl on the tiers' schedule; the details say how many.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import Engine, select, update

from parser_pipeline.constants import VK_WALL_GET_MAX_COUNT
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, World
from parser_pipeline.emulator.scenarios import SCENARIO_SPECS, AdvanceSpec, GroupSpec, ScenarioSpec
from parser_pipeline.emulator.service import VkService
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import crawl_jobs, vk_comments, vk_groups
from parser_pipeline.vk.client import VkClient

WALL_GET = "wall.get"
# VK's daily wall.get quota per token (VK_API.md, "Rate limits").
VK_WALL_GET_PER_DAY = 5000
HOURS_PER_DAY = 24
GOAL_WALL_GET_PER_RECRAWL = 1.0
# One wall.get a crawl, hourly: the communities a token keeps when no crawl needs a second page.
GOAL_GROUPS_PER_TOKEN = VK_WALL_GET_PER_DAY // HOURS_PER_DAY
SEED = 16
# Worlds begin at 00:00 UTC (03:00 Moscow time). A quota day that begins at 04:00 Moscow time
# leaves the first crawl in the day before and holds the next 24 hourly crawls whole.
QUOTA_RESET_HOUR = 4
QUOTA_RESET = f"{QUOTA_RESET_HOUR:02d}:00"
# Seconds after the last measured crawl at which every post is due for a full re-read (the
# oldest tier re-reads monthly; a post that gained and lost as many comments kept its count):
# the catch-up crawl after which each database must equal the emulator.
CATCH_UP_SECONDS = 31 * 86_400
POLICY = CrawlPolicy()  # the default post-age tiers, no periodic full verification
# Comments do not change what wall.get costs; few (about one post in nine has any at the start)
# keep the first crawls short. New posts get ten on average, as young posts do.
MEAN_COMMENTS = 0.5
RECRAWL_SIZES = (40, 100, 101, 250, 1000, 2500)  # a wall of one page, one page exactly, ...
RECRAWL_SIZES_QUICK = (40, 100, 101, 250)
RECRAWLS, RECRAWLS_QUICK = 12, 4
DAY_POSTS, DAY_POSTS_QUICK = 5000, 1000
NEW_POSTS_PER_HOUR = 2
TOUCHED_POSTS_PER_HOUR = 8
DAY_SPAN_DAYS = 100  # 5,000 posts in 100 days: the 50 a day the community keeps posting

_EXTERNALS = (("bench_commenters", "Сообщество комментаторов"),)


def recrawl_spec(sizes: Sequence[int]) -> ScenarioSpec:
    """Communities of the given sizes with no new posts, whose comments change every hour."""
    groups = tuple(
        GroupSpec(
            f"bench_wall_{size}",
            f"Стена на {size} постов",
            n_posts=size,
            mean_comments=MEAN_COMMENTS,
            pinned_from_oldest=size // 3 if i % 2 else None,
        )
        for i, size in enumerate(sizes)
    )
    return ScenarioSpec(
        name="bench_recrawl",
        groups=groups,
        externals=_EXTERNALS,
        n_users=500,
        max_comments_per_post=200,
        span_days=365,
        cached_posts=None,
        advance=AdvanceSpec(
            new_posts=0,
            touched_posts=TOUCHED_POSTS_PER_HOUR,
            max_new_comments=6,
            max_deletions=3,
            mean_comments_new_post=0,
        ),
    )


def day_spec(posts: int) -> ScenarioSpec:
    """One busy community: `posts` posts, 2 new ones an hour."""
    group = GroupSpec(
        f"bench_news_{posts}",
        f"Новости на {posts} постов",
        n_posts=posts,
        mean_comments=MEAN_COMMENTS,
        pinned_from_oldest=posts // 2,
    )
    return ScenarioSpec(
        name="bench_day",
        groups=(group,),
        externals=_EXTERNALS,
        n_users=500,
        max_comments_per_post=200,
        span_days=DAY_SPAN_DAYS * posts // DAY_POSTS,
        cached_posts=None,
        advance=AdvanceSpec(
            new_posts=NEW_POSTS_PER_HOUR,
            touched_posts=TOUCHED_POSTS_PER_HOUR,
            max_new_comments=6,
            max_deletions=3,
            mean_comments_new_post=10,
        ),
    )


def sized_world(spec: ScenarioSpec, seed: int = SEED) -> World:
    """The emulator's generator run on a scenario of our own (named only while it is built)."""
    with mock.patch.dict(SCENARIO_SPECS, {spec.name: spec}):
        return World(spec.name, seed)


class _WorldEmulator(Emulator):
    """The emulator serving a world built here instead of one of its named scenarios."""

    def __init__(self, config: EmulatorConfig, world: World) -> None:
        super().__init__(config)
        self.service = VkService(config, world)
        self.world = world


@contextmanager
def served(world: World, tokens: Sequence[str]) -> Iterator[Emulator]:
    """The world over loopback, quota days on its clock, no rate limit (counts, not speed)."""
    config = EmulatorConfig(
        tokens=tuple(tokens),
        rate_limit_per_second=None,
        daily_quotas={WALL_GET: VK_WALL_GET_PER_DAY},
        quota_reset_hour=QUOTA_RESET_HOUR,
        quota_time="world",
    )
    emu = _WorldEmulator(config, world).start()
    try:
        yield emu
    finally:
        emu.stop()


def world_clock(emu: Emulator) -> datetime:
    return datetime.fromtimestamp(emu.world.now, UTC)


def wall_get_calls(stats: dict[str, Any]) -> int:
    """The emulator's wall.get calls: plain requests and calls inside execute."""
    return int(
        stats["requests_by_method"].get(WALL_GET, 0)
        + stats["execute_inner_by_method"].get(WALL_GET, 0)
    )


@dataclass
class Crawler:
    """One database, one token, one client: vkpipe's crawl with the world's clock."""

    emu: Emulator
    engine: Engine
    client: VkClient
    token: str

    def crawl(self, *, full_listing: bool = False) -> None:
        """Crawl every community once; `full_listing` makes it list whole walls, as the first
        crawl does (the listing watermark is cleared)."""
        with transaction(self.engine) as connection:
            if full_listing:
                connection.execute(update(vk_groups).values(wall_listed_until=None))
            rows = group_store.list_groups(connection)
        report = crawl_groups(
            self.engine, self.client, rows, policy=POLICY, clock=lambda: world_clock(self.emu)
        )
        assert report.ok, [(g.name, g.status, g.error) for g in report.groups]

    def calls_by_job(self, after_job: int) -> list[dict[str, int]]:
        """VK calls by method of each job later than `after_job`, as the engine counted them."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(crawl_jobs.c.calls).where(crawl_jobs.c.id > after_job)
            ).scalars()
            return [{str(m): int(n) for m, n in (calls or {}).items()} for calls in rows]

    def last_job(self) -> int:
        with self.engine.connect() as connection:
            return int(max(connection.execute(select(crawl_jobs.c.id)).scalars(), default=0))

    def check_truth(self) -> int:
        """Every comment VK shows now is stored, and nothing VK never showed (checked after a
        catch-up crawl). Returns how many comments of the emulator's truth were never stored:
        the truth is what a crawl after every hour saw, and a comment added and deleted between
        two due checks of an old post is shown by VK to no crawl of the tiers' schedule."""
        truth = self.emu.truth()["comments"]
        made = {(c["owner_id"], c["comment_id"]) for c in truth}
        live = {(c["owner_id"], c["comment_id"]) for c in truth if not c["is_deleted"]}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(vk_comments.c.owner_id, vk_comments.c.comment_id, vk_comments.c.is_deleted)
            ).all()
        stored = {(r.owner_id, r.comment_id) for r in rows}
        stored_live = {(r.owner_id, r.comment_id) for r in rows if not r.is_deleted}
        who = f"…{self.token[-4:]}"
        assert stored_live == live, (
            f"{who}: {len(live - stored_live)} of {len(live)} live comments missing, "
            f"{len(stored_live - live)} stored live that VK shows deleted or never showed"
        )
        assert stored <= made, f"{who}: {len(stored - made)} stored comments VK never showed"
        return len(made - stored)


@contextmanager
def crawler(emu: Emulator, token: str, workdir: Path) -> Iterator[Crawler]:
    """A migrated SQLite database with every community of the world registered."""
    url = f"sqlite:///{workdir / f'vkpipe-{token[-4:]}.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    settings = load_settings(
        database_url=url,
        vk_api_url=emu.base_url,
        vk_tokens=token,
        vk_rps_per_token=100,  # the emulator does not limit: keep the limiter out of the way
        vk_backoff_base_seconds=0.01,
        vk_backoff_cap_seconds=0.1,
        vk_daily_quotas=f"{WALL_GET}={VK_WALL_GET_PER_DAY}",
        vk_quota_reset=QUOTA_RESET,
    )
    client = VkClient.from_settings(settings, now=lambda: world_clock(emu))
    try:
        names = sorted(emu.world.group_screen_names())
        resolved = register_groups(engine, client, [(n, CrawlSettings()) for n in names])
        assert all(r.group is not None for r in resolved), "a community did not resolve"
        yield Crawler(emu, engine, client, token)
    finally:
        client.close()
        engine.dispose()


def measure_recrawl(quick: bool) -> dict[str, Any]:
    """wall.get calls of hourly re-crawls of communities that get no new posts."""
    sizes = RECRAWL_SIZES_QUICK if quick else RECRAWL_SIZES
    recrawls = RECRAWLS_QUICK if quick else RECRAWLS
    token = "bench-quota-recrawl-0001"
    world = sized_world(recrawl_spec(sizes))
    with (
        served(world, (token,)) as emu,
        tempfile.TemporaryDirectory(prefix="vkpipe-bench-quota-") as workdir,
        crawler(emu, token, Path(workdir)) as vkpipe,
    ):
        before = wall_get_calls(emu.stats())
        vkpipe.crawl()
        first = wall_get_calls(emu.stats()) - before
        first_job = vkpipe.last_job()
        per_crawl: list[int] = []
        changes = {"new_comments": 0, "deleted_comments": 0, "new_posts": 0}
        for _ in range(recrawls):
            change = emu.advance()
            for key in ("new_comments", "deleted_comments"):
                changes[key] += change[key]
            changes["new_posts"] += len(change["new_posts"])
            before = wall_get_calls(emu.stats())
            vkpipe.crawl()
            per_crawl.append(wall_get_calls(emu.stats()) - before)
        by_job = [calls.get(WALL_GET, 0) for calls in vkpipe.calls_by_job(first_job)]
        errors_29 = emu.stats()["errors_by_code"].get(29, 0)
        emu.pass_time(CATCH_UP_SECONDS)
        vkpipe.crawl()
        unseen = vkpipe.check_truth()
    assert changes["new_posts"] == 0, changes
    assert sum(by_job) == sum(per_crawl), (by_job, per_crawl)  # the engine counts as VK does
    return {
        "sizes": sizes,
        "recrawls": recrawls,
        "first": first,
        "per_crawl": per_crawl,
        "max_per_job": max(by_job),
        "changes": changes,
        "errors_29": errors_29,
        "unseen": unseen,
    }


def measure_day(quick: bool) -> dict[str, Any]:
    """wall.get calls of a quota day of hourly crawls: vkpipe and full listing side by side."""
    posts = DAY_POSTS_QUICK if quick else DAY_POSTS
    tokens = ("bench-quota-vkpipe-0001", "bench-quota-listing-0002")
    world = sized_world(day_spec(posts))
    with ExitStack() as stack:
        emu = stack.enter_context(served(world, tokens))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vkpipe-bench-")))
        vkpipe = stack.enter_context(crawler(emu, tokens[0], workdir))
        listing = stack.enter_context(crawler(emu, tokens[1], workdir))
        before = wall_get_calls(emu.stats())
        vkpipe.crawl()
        first = wall_get_calls(emu.stats()) - before
        listing.crawl(full_listing=True)
        vkpipe_first_job = vkpipe.last_job()
        stats0 = emu.stats()
        day_start = world_clock(emu)
        new_posts = 0
        for _ in range(HOURS_PER_DAY):
            new_posts += len(emu.advance()["new_posts"])
            vkpipe.crawl()
            listing.crawl(full_listing=True)
        used = emu.quota_usage()  # the quota day began with the first advance()
        vkpipe_calls: Counter[str] = Counter()
        for calls in vkpipe.calls_by_job(vkpipe_first_job):
            vkpipe_calls.update(calls)
        stats1 = emu.stats()
        wall_size = len(emu.world.wall(emu.world.target_groups()[0].owner_id))
        day_end = world_clock(emu)
        emu.pass_time(CATCH_UP_SECONDS)
        vkpipe.crawl()
        listing.crawl(full_listing=True)
        unseen = vkpipe.check_truth()
        unseen_listing = listing.check_truth()
    assert (day_end - day_start).total_seconds() == HOURS_PER_DAY * 3600
    counted = wall_get_calls(stats1) - wall_get_calls(stats0)
    day = {t: used.get(t, {}).get(WALL_GET, 0) for t in tokens}
    assert sum(day.values()) == counted, (day, counted)
    assert vkpipe_calls[WALL_GET] == day[tokens[0]], (vkpipe_calls, day)
    by_token = stats1["requests_by_token"]
    return {
        "posts": posts,
        "wall_size": wall_size,
        "new_posts": new_posts,
        "first": first,
        "vkpipe": day[tokens[0]],
        "vkpipe_by_id": vkpipe_calls["wall.getById"],
        "listing": day[tokens[1]],
        "vkpipe_requests": by_token.get(tokens[0], 0) - stats0["requests_by_token"][tokens[0]],
        "listing_requests": by_token.get(tokens[1], 0) - stats0["requests_by_token"][tokens[1]],
        "errors_29": stats1["errors_by_code"].get(29, 0),
        "unseen": unseen,
        "unseen_listing": unseen_listing,
    }


def figures(recrawl: dict[str, Any], day: dict[str, Any]) -> list[dict[str, Any]]:
    """The two figures of this module from the raw counts (recrawl_request_share lives in
    bench/requests.py)."""
    communities = len(recrawl["sizes"])
    per_recrawl = sum(recrawl["per_crawl"]) / (communities * recrawl["recrawls"])
    # The first crawl lists every wall whole: what every re-crawl would cost listing them.
    listing_per_crawl = recrawl["first"]
    pages = sum(max(1, math.ceil(size / VK_WALL_GET_MAX_COUNT)) for size in recrawl["sizes"])
    assert listing_per_crawl == pages, (listing_per_crawl, pages)
    baseline_per_recrawl = listing_per_crawl / communities
    groups = VK_WALL_GET_PER_DAY // day["vkpipe"]
    groups_listing = VK_WALL_GET_PER_DAY // day["listing"]
    sizes = ", ".join(f"{s:,}" for s in recrawl["sizes"])
    changes = recrawl["changes"]
    return [
        {
            "name": "wall_get_per_recrawl",
            "value": round(per_recrawl, 3),
            "unit": "wall.get / community / re-crawl",
            "baseline": round(baseline_per_recrawl, 3),
            "baseline_unit": "listing whole walls",
            "ratio": round(per_recrawl / baseline_per_recrawl, 4),
            "goal": f"≤ {GOAL_WALL_GET_PER_RECRAWL:g}",
            "met": per_recrawl <= GOAL_WALL_GET_PER_RECRAWL,
            "detail": (
                f"{communities} communities of {sizes} posts, no new posts, "
                f"{recrawl['recrawls']} hourly re-crawls after the first "
                f"({changes['new_comments']} comments added, {changes['deleted_comments']} "
                f"deleted meanwhile): wall.get per re-crawl {recrawl['per_crawl']} (emulator's "
                f"count, execute's inner calls included), at most {recrawl['max_per_job']} for "
                f"one community; the first crawl, which lists every wall whole, "
                f"{listing_per_crawl}; error 29: {recrawl['errors_29']}; after a "
                f"catch-up crawl every comment VK shows is stored ({recrawl['unseen']} added and "
                "deleted between two due checks were never seen)"
            ),
        },
        {
            "name": "groups_per_token_per_day",
            "value": groups,
            "unit": f"communities of {day['posts']:,} posts hourly / token",
            "baseline": groups_listing,
            "baseline_unit": "listing whole walls",
            "ratio": round(groups / groups_listing, 2) if groups_listing else None,
            "goal": f"≥ {GOAL_GROUPS_PER_TOKEN} (1 wall.get a crawl)",
            "met": groups >= GOAL_GROUPS_PER_TOKEN,
            "detail": (
                f"one community of {day['posts']:,} posts (+{NEW_POSTS_PER_HOUR} new and "
                f"{TOUCHED_POSTS_PER_HOUR} with changed comments an hour; {day['wall_size']:,} "
                "posts at the end), crawled hourly for a quota day (24 crawls): wall.get a day "
                f"{day['vkpipe']} (vkpipe) vs {day['listing']} (every crawl lists the whole "
                f"wall); vkpipe's counts re-checked by {day['vkpipe_by_id']} wall.getById (no "
                f"published quota); all requests {day['vkpipe_requests']} vs "
                f"{day['listing_requests']}; a token's {VK_WALL_GET_PER_DAY:,} wall.get a day ÷ "
                f"those; the first crawl ({day['first']} wall.get) is left out; error 29: "
                f"{day['errors_29']}; after a catch-up crawl both store every comment VK shows "
                f"({day['unseen']} and {day['unseen_listing']} added and deleted between two "
                "due checks were never seen)"
            ),
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return figures(measure_recrawl(quick), measure_day(quick))


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING")  # the crawl narrates every group at INFO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller walls, fewer re-crawls")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']} (goal {f['goal']}, met {f['met']})")
        print(f"    {f['detail']}")
