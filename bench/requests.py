"""Benchmark: VK requests per 1,000 stored comments, vkpipe's crawl vs two simpler clients.

Run: `.venv/bin/python -m bench requests` (or `-m bench.requests`). One emulator (`standard`
scenario, rate limit and faults off) serves, one after another, with its request counter reset
before each:
- naive: one plain HTTP call per page — wall.get pages of 100, top-level wall.getComments pages of
  100 with the 10-reply thread preview, then thread pages of 100 (`comment_id`) for the threads
  the preview does not hold; no `execute`. The same calls vkpipe makes, one request each.
- per-post execute: per post, one `execute` packing all its top-level pages (as many as the wall's
  `comments.count` can need), then one `execute` packing all its thread pages.
- vkpipe: `crawl_groups` with `VkClient` into a migrated SQLite database; then, after
  `emu.advance()`, the incremental crawl.
Group registration (resolveScreenName, groups.getById) is left out of every count. Each client
must have stored (vkpipe) or seen (baselines) exactly the comments of the emulator's truth.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, select

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.runner import CrawlReport, crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import vk_comments
from parser_pipeline.vk.client import VkClient

SCENARIO = "standard"
SEED = 3
TOKENS = ("bench-req-token-1", "bench-req-token-2", "bench-req-token-3")
API_VERSION = "5.199"
PAGE = 100  # VK's cap for wall.get and wall.getComments `count`
THREAD_PREVIEW = 10  # VK's cap for thread_items_count
EXECUTE_MAX_CALLS = 25  # VK's cap on API calls per execute
GOAL_VS_NAIVE = 15.0
GOAL_RECRAWL_SHARE = 0.30
# A closed or blocked wall answers error 15; any other error means a broken baseline.
ERROR_ACCESS_DENIED = 15

CommentKey = tuple[int, int]  # (owner_id, comment_id)


class VkAnswerError(Exception):
    def __init__(self, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"{method}: VK error {error.get('error_code')}: {error.get('error_msg')}")
        self.code = error.get("error_code")


class PlainVk:
    """The smallest VK client: one POST per call, or one per execute of up to 25 calls."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token
        self.session = requests.Session()

    def call(self, method: str, **params: Any) -> Any:
        data = {**params, "access_token": self.token, "v": API_VERSION}
        resp = self.session.post(f"{self.base_url}/{method}", data=data, timeout=30)
        resp.raise_for_status()
        body = resp.json()
        if "error" in body:
            raise VkAnswerError(method, body["error"])
        return body["response"]

    def execute(self, calls: list[dict[str, Any]]) -> list[Any]:
        """wall.getComments calls packed into one execute; every slot must succeed."""
        assert 1 <= len(calls) <= EXECUTE_MAX_CALLS
        code = "return [{}];".format(
            ",".join(f"API.wall.getComments({json.dumps(c, ensure_ascii=False)})" for c in calls)
        )
        slots = self.call("execute", code=code)
        assert isinstance(slots, list), slots
        assert False not in slots, "an execute slot failed"
        return slots

    def close(self) -> None:
        self.session.close()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _wall(vk: PlainVk, owner_id: int) -> list[dict[str, Any]]:
    """Every post of a wall by wall.get pages of 100 (nothing for a closed or blocked wall)."""
    posts: dict[int, dict[str, Any]] = {}
    offset = 0
    while True:
        try:
            page = vk.call("wall.get", owner_id=owner_id, offset=offset, count=PAGE)
        except VkAnswerError as exc:
            if exc.code == ERROR_ACCESS_DENIED:
                return []
            raise
        for post in page["items"]:
            posts.setdefault(post["id"], post)
        offset += PAGE
        if not page["items"] or offset >= page["count"]:
            return list(posts.values())


def _with_comments(posts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in posts if p["comments"]["count"] > 0]


def _base(owner_id: int, post_id: int) -> dict[str, Any]:
    return {"owner_id": owner_id, "post_id": post_id, "need_likes": 1, "extended": 1}


def _top_page(owner_id: int, post_id: int, offset: int) -> dict[str, Any]:
    return {
        **_base(owner_id, post_id),
        "offset": offset,
        "count": PAGE,
        "thread_items_count": THREAD_PREVIEW,
    }


def _thread_pages(owner_id: int, post_id: int, top: dict[str, Any]) -> list[dict[str, Any]]:
    """Thread pages for a top-level comment whose preview does not hold its whole thread."""
    thread = top.get("thread") or {"count": 0, "items": []}
    if thread["count"] <= len(thread["items"]):
        return []
    return [
        {**_base(owner_id, post_id), "comment_id": top["id"], "offset": offset, "count": PAGE}
        for offset in range(0, thread["count"], PAGE)
    ]


def _absorb_top(owner_id: int, page: dict[str, Any], seen: set[CommentKey]) -> None:
    for item in page["items"]:
        seen.add((owner_id, item["id"]))
        for reply in (item.get("thread") or {}).get("items", []):
            seen.add((owner_id, reply["id"]))


def naive_crawl(vk: PlainVk, owner_ids: Iterable[int]) -> set[CommentKey]:
    """Every comment of every wall, one plain request per page."""
    seen: set[CommentKey] = set()
    for owner_id in owner_ids:
        for post in _with_comments(_wall(vk, owner_id)):
            threads: list[dict[str, Any]] = []
            offset = 0
            while True:
                page = vk.call("wall.getComments", **_top_page(owner_id, post["id"], offset))
                _absorb_top(owner_id, page, seen)
                for top in page["items"]:
                    threads.extend(_thread_pages(owner_id, post["id"], top))
                offset += PAGE
                if not page["items"] or offset >= page["current_level_count"]:
                    break
            for params in threads:
                page = vk.call("wall.getComments", **params)
                seen.update((owner_id, item["id"]) for item in page["items"])
    return seen


def per_post_execute_crawl(vk: PlainVk, owner_ids: Iterable[int]) -> set[CommentKey]:
    """Every comment of every wall: per post, one execute of top-level pages, one of threads."""
    seen: set[CommentKey] = set()
    for owner_id in owner_ids:
        for post in _with_comments(_wall(vk, owner_id)):
            # comments.count counts replies too: an upper bound of the top-level pages.
            pages = math.ceil(post["comments"]["count"] / PAGE)
            calls = [_top_page(owner_id, post["id"], i * PAGE) for i in range(pages)]
            threads: list[dict[str, Any]] = []
            for chunk in _chunks(calls, EXECUTE_MAX_CALLS):
                for page in vk.execute(chunk):
                    assert page["current_level_count"] <= pages * PAGE
                    _absorb_top(owner_id, page, seen)
                    for top in page["items"]:
                        threads.extend(_thread_pages(owner_id, post["id"], top))
            for chunk in _chunks(threads, EXECUTE_MAX_CALLS):
                for page in vk.execute(chunk):
                    seen.update((owner_id, item["id"]) for item in page["items"])
    return seen


def _truth_keys(emu: Emulator) -> set[CommentKey]:
    return {(c["owner_id"], c["comment_id"]) for c in emu.truth()["comments"]}


def _stored_keys(engine: Engine) -> set[CommentKey]:
    with engine.connect() as connection:
        rows = connection.execute(select(vk_comments.c.owner_id, vk_comments.c.comment_id))
        return {(o, c) for o, c in rows}


def _check(who: str, got: set[CommentKey], want: set[CommentKey]) -> None:
    """A client that missed or invented comments would make any ratio meaningless."""
    assert got == want, (
        f"{who}: {len(got)} comments vs the truth's {len(want)} "
        f"({len(want - got)} missing, {len(got - want)} unexpected)"
    )


def _counted(emu: Emulator, work: Any) -> tuple[Any, int]:
    """Run `work()` with the emulator's counter reset; (its result, requests VK received)."""
    emu.reset_stats()
    result = work()
    return result, int(emu.stats()["total_requests"])


@contextmanager
def _vkpipe(emu: Emulator) -> Iterator[tuple[Engine, VkClient]]:
    """A migrated SQLite database with the target groups registered, and a client."""
    with tempfile.TemporaryDirectory(prefix="vkpipe-bench-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'vkpipe.db'}"
        migrations.upgrade(url)
        engine = make_engine(url)
        settings = load_settings(
            database_url=url,
            vk_api_url=emu.base_url,
            vk_tokens=",".join(TOKENS),
            vk_rps_per_token=100,  # the emulator does not limit: keep the limiter out of the way
            vk_backoff_base_seconds=0.01,
            vk_backoff_cap_seconds=0.2,
        )
        client = VkClient.from_settings(settings)
        try:
            names = sorted(emu.world.group_screen_names())
            resolved = register_groups(engine, client, [(n, CrawlSettings()) for n in names])
            assert all(r.group is not None for r in resolved), "a target group did not resolve"
            yield engine, client
        finally:
            client.close()
            engine.dispose()


def _crawl(engine: Engine, client: VkClient) -> CrawlReport:
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    report = crawl_groups(engine, client, rows)
    assert report.ok, [(g.group_id, g.status, g.error) for g in report.groups]
    return report


def measure() -> dict[str, Any]:
    """Request counts of the three clients and of vkpipe's incremental crawl, truth-checked."""
    config = EmulatorConfig(
        scenario=SCENARIO,
        seed=SEED,
        tokens=TOKENS,
        rate_limit_per_second=None,
        faults=FaultConfig.off(),
    )
    with run_emulator(config) as emu:
        truth = _truth_keys(emu)
        owners = sorted(-gid for gid in emu.world.group_screen_names().values())
        vk = PlainVk(emu.base_url, TOKENS[0])
        try:
            seen, naive = _counted(emu, lambda: naive_crawl(vk, owners))
            _check("naive", seen, truth)
            seen, per_post = _counted(emu, lambda: per_post_execute_crawl(vk, owners))
            _check("per-post execute", seen, truth)
        finally:
            vk.close()
        with _vkpipe(emu) as (engine, client):
            report, first = _counted(emu, lambda: _crawl(engine, client))
            assert report.requests == first, (report.requests, first)
            _check("vkpipe", _stored_keys(engine), truth)
            change = emu.advance()
            report, second = _counted(emu, lambda: _crawl(engine, client))
            assert report.requests == second, (report.requests, second)
            truth_after = _truth_keys(emu)
            _check("vkpipe after advance()", _stored_keys(engine), truth_after)
    return {
        "comments": len(truth),
        "naive": naive,
        "per_post": per_post,
        "vkpipe": first,
        "vkpipe_second": second,
        "comments_after": len(truth_after),
        "new_comments": change["new_comments"],
        "deleted_comments": change["deleted_comments"],
    }


def figures(m: dict[str, Any]) -> list[dict[str, Any]]:
    """The four figures from the raw counts of `measure()`."""

    def per_1k(requests_: int) -> float:
        return float(requests_ * 1000 / m["comments"])

    vkpipe, naive, per_post = per_1k(m["vkpipe"]), per_1k(m["naive"]), per_1k(m["per_post"])
    counts = (
        f"{m['comments']:,} comments; requests: vkpipe {m['vkpipe']}, naive {m['naive']}, "
        f"per-post execute {m['per_post']}"
    )
    vs_naive = m["naive"] / m["vkpipe"]
    share = m["vkpipe_second"] / m["vkpipe"]
    return [
        {
            "name": "vk_requests_per_1k_comments",
            "value": round(vkpipe, 3),
            "unit": "requests / 1k comments",
            "baseline": round(naive, 3),
            "baseline_unit": "naive",
            "ratio": round(vkpipe / naive, 4),
            "goal": None,
            "met": None,
            "detail": f"baseline: naive client; {counts}",
        },
        {
            "name": "requests_vs_naive",
            "value": round(vs_naive, 2),
            "unit": "× fewer requests",
            "baseline": round(naive, 3),
            "baseline_unit": "naive req / 1k",
            "ratio": None,
            "goal": f"≥ {GOAL_VS_NAIVE:g}",
            "met": vs_naive >= GOAL_VS_NAIVE,
            "detail": f"naive ÷ vkpipe requests; {counts}",
        },
        {
            "name": "requests_vs_per_post_execute",
            "value": round(m["per_post"] / m["vkpipe"], 2),
            "unit": "× fewer requests",
            "baseline": round(per_post, 3),
            "baseline_unit": "per-post req / 1k",
            "ratio": None,
            "goal": None,
            "met": None,
            "detail": "per-post execute ÷ vkpipe requests (one execute of top-level pages "
            "and one of thread pages per post)",
        },
        {
            "name": "recrawl_request_share",
            "value": round(share, 4),
            "unit": "of first crawl's requests",
            "baseline": m["vkpipe"],
            "baseline_unit": "first-crawl requests",
            "ratio": None,
            "goal": f"≤ {GOAL_RECRAWL_SHARE:g}",
            "met": share <= GOAL_RECRAWL_SHARE,
            "detail": (
                f"after advance() ({m['new_comments']} new, {m['deleted_comments']} deleted "
                f"comments): {m['vkpipe_second']} requests vs {m['vkpipe']} for the first crawl"
            ),
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    """The counts do not depend on time: `quick` runs the same (about 20 s) measurement."""
    del quick
    return figures(measure())


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING")  # the crawl narrates every group at INFO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="accepted; the run is the same")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']} (goal {f['goal']}, met {f['met']})")
        print(f"    {f['detail']}")
