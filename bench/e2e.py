"""Benchmark: end-to-end crawl time against the rate-limit floor, and the crawl's peak memory.

Run: `.venv/bin/python -m bench e2e [--quick]` (or `-m bench.e2e`). Needs PostgreSQL
(`bench/pgscratch.py`) and Redis db 4 of 127.0.0.1:6379 (flushed before and after; or
VKPIPE_BENCH_REDIS_URL).
- `e2e_vs_floor`: `crawl_groups` of the emulator's `standard` world (seed 3, faults off) in one
  process, 3 tokens × 3 req/s enforced by the emulator and by vkpipe's limiter, into a fresh
  migrated SQLite database; its seconds ÷ the floor, requests (the emulator's count) ÷ 9 req/s.
- `e2e_distributed_vs_floor`: the same world crawled by a fleet (2 fetch workers, 1 dispatch
  worker, beat; Redis limiter) into a scratch PostgreSQL database, from the first job's
  creation to the last job's end; informative.
- `fetch_worker_peak_rss_mb_3000_comments`: a fresh process reads and stores the 3,000 comments
  of the biggest post of the `large` world (seed 2) as a fetch stage does; its peak RSS
  (VmHWM) vs its RSS after imports and setup.
- `large_crawl_peak_rss_mb`: a fresh process runs `crawl_groups` over the whole `large` world
  into PostgreSQL (quick: every group, but only the posts of the world's last 30 days).
Each crawl runs in a spawned process while the emulator serves from this one, so the two do
not share a GIL (VK would not run inside the crawler either).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import Engine, func, select

from bench.pgscratch import admin_url, scratch_database
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine, transaction
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import crawl_jobs, vk_comments
from parser_pipeline.vk.client import VkClient

# Broker, results and the VK limiter of the benchmark fleets: one Redis database, ours alone
# (flushed before and after; VKPIPE_BENCH_REDIS_URL points it at another server or database).
REDIS_URL = os.environ.get("VKPIPE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
CELERY = str(Path(sys.executable).with_name("celery"))
REPO = Path(__file__).resolve().parents[1]
TOKENS = ("bench-e2e-token-1", "bench-e2e-token-2", "bench-e2e-token-3")
LIMIT_PER_SECOND = 3  # VK's limit per user token
STANDARD_SEED = 3  # the world of bench/requests.py: 33,712 comments
# Seed 2 gives the `large` world (1,170,221 comments) a post with 3,000 comments, the cap.
LARGE_SEED = 2
BIG_POST_MIN_COMMENTS = 3000
# Quick mode crawls the `large` world's posts of its last 30 days (~2% of its comments).
QUICK_POST_AGE_DAYS = 30
GOAL_VS_FLOOR = 1.25
# A fleet that has not finished by then is broken; the benchmark fails instead of hanging.
FLEET_DEADLINE_SECONDS = 300.0
POLL_SECONDS = 0.2
FINAL = ("succeeded", "failed", "cancelled")


# ---- a fleet of celery processes ------------------------------------------------------------


class Fleet:
    """`celery -A workers worker|beat` processes sharing one environment; each its own group."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [CELERY, "-A", "workers", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )

    def worker(self, name: str, queues: str, concurrency: int) -> None:
        self.start(
            name, "worker", "-Q", queues, "-n", f"{name}@%h", "-P", "threads",
            "-c", str(concurrency), "--without-mingle", "--without-gossip",
        )  # fmt: skip

    def standard(self) -> None:
        """Two fetch workers, one dispatch worker, beat (analysis and export are not started)."""
        self.worker("fetch1", "fetch", 4)
        self.worker("fetch2", "fetch", 4)
        self.worker("dispatch", "dispatch", 2)
        self.start("beat", "beat", "-s", str(self.workdir / "beat-schedule"))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )


@contextmanager
def fleet(emu: Emulator, database_url: str, rps_per_token: int) -> Iterator[Fleet]:
    """A running fleet against `emu` and `database_url`; Redis db 4 flushed before and after."""
    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env.update(
        VKPIPE_DATABASE_URL=database_url,
        VKPIPE_BROKER_URL=REDIS_URL,
        VKPIPE_REDIS_URL=REDIS_URL,
        VKPIPE_VK_API_URL=emu.base_url,
        VKPIPE_VK_TOKENS=",".join(TOKENS),
        VKPIPE_VK_RPS_PER_TOKEN=str(rps_per_token),
        VKPIPE_DISPATCH_INTERVAL_SECONDS="1",
        VKPIPE_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    with tempfile.TemporaryDirectory(prefix="vkpipe-bench-fleet-") as workdir:
        running = Fleet(env, Path(workdir))
        try:
            running.standard()
            yield running
        finally:
            running.stop()
            conn.flushdb()
            conn.close()


def register(emu: Emulator, engine: Engine, max_post_age_days: int | None = None) -> int:
    """Monitor every target community of the world; returns how many."""
    settings = load_settings(vk_api_url=emu.base_url, vk_tokens=",".join(TOKENS))
    client = VkClient.from_settings(settings)
    try:
        wanted = sorted(emu.world.group_screen_names())
        crawl = CrawlSettings(max_post_age_days=max_post_age_days)
        resolved = register_groups(engine, client, [(n, crawl) for n in wanted])
    finally:
        client.close()
    assert all(r.group is not None for r in resolved), "a target group did not resolve"
    return len(wanted)


def job_span(engine: Engine, expected: int) -> tuple[datetime, datetime] | None:
    """(first job created, last job finished) once `expected` jobs are all final, else None."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(crawl_jobs.c.status, crawl_jobs.c.created_at, crawl_jobs.c.finished_at)
        ).all()
    if len(rows) < expected or any(r.status not in FINAL for r in rows):
        return None
    assert all(r.status == "succeeded" for r in rows), [r.status for r in rows]
    return min(r.created_at for r in rows), max(r.finished_at for r in rows)


def stored_comments(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(vk_comments)).scalar_one())


# ---- time against the floor -------------------------------------------------------------------


def _standard_emulator(limit: int | None = LIMIT_PER_SECOND) -> Any:
    return run_emulator(
        EmulatorConfig(
            scenario="standard",
            seed=STANDARD_SEED,
            tokens=TOKENS,
            rate_limit_per_second=limit,
            faults=FaultConfig.off(),
        )
    )


def in_process_vs_floor(limit: int | None = LIMIT_PER_SECOND) -> dict[str, float]:
    """Seconds and requests of `crawl_groups` over the standard world (limit None: unthrottled).

    The crawl runs in a fresh process: the emulator, in this one, must not share its GIL.
    """
    with (
        _standard_emulator(limit) as emu,
        tempfile.TemporaryDirectory(prefix="vkpipe-bench-e2e-") as workdir,
    ):
        url = f"sqlite:///{Path(workdir) / 'vkpipe.db'}"
        migrations.upgrade(url)
        engine = make_engine(url)
        register(emu, engine)
        time.sleep(1.1)  # registration's requests leave the one-second window
        emu.reset_stats()
        job = {"database_url": url, "vk_api_url": emu.base_url, "post": None}
        result = _in_child({**job, "rps": limit or 100}, 300)
        stats = emu.stats()
        result["comments"] = stored_comments(engine)
        engine.dispose()
    return {
        **result,
        "requests": stats["total_requests"],
        "error6": stats["errors_by_code"].get(6, 0),
    }


def distributed_vs_floor() -> dict[str, float]:
    """The fleet's seconds from the first job's creation to the last job's end, and requests."""
    with _standard_emulator() as emu, scratch_database(admin_url(), "vkpipe_bench_e2e") as url:
        engine = make_engine(url)
        try:
            groups = register(emu, engine)
            time.sleep(1.1)
            emu.reset_stats()
            with fleet(emu, url, LIMIT_PER_SECOND) as running:
                deadline = time.monotonic() + FLEET_DEADLINE_SECONDS
                while (span := job_span(engine, groups)) is None:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"the fleet did not finish\n{running.logs()}")
                    time.sleep(POLL_SECONDS)
            stats = emu.stats()
            comments = stored_comments(engine)
        finally:
            engine.dispose()
    return {
        "seconds": (span[1] - span[0]).total_seconds(),
        "requests": stats["total_requests"],
        "error6": stats["errors_by_code"].get(6, 0),
        "comments": comments,
    }


# ---- peak memory, each in a fresh process ------------------------------------------------------


def _status_mb(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert found, f"no {field} in /proc/self/status"
    return int(found.group(1)) / 1024


def _child(job: dict[str, Any], out: Any) -> None:
    """In a spawned process: set up, note RSS, crawl, note peak RSS (VmHWM)."""
    # The in-process crawl's entry points, imported here only: bench.scale needs this module's
    # fleet, not them (they moved with the crawl engine's rework, issue 15).
    from parser_pipeline.crawl.comments import CommentsFetcher, CompletedPost
    from parser_pipeline.crawl.planning import PostFetch
    from parser_pipeline.crawl.run import crawl_groups
    from parser_pipeline.crawl.steps import read_stored
    from parser_pipeline.logging import configure_logging
    from parser_pipeline.store.batches import store_completed_posts

    configure_logging(level="WARNING", stream=sys.stderr)
    engine = make_engine(job["database_url"])
    settings = load_settings(
        database_url=job["database_url"],
        vk_api_url=job["vk_api_url"],
        vk_tokens=",".join(TOKENS),
        vk_rps_per_token=job["rps"],
    )
    client = VkClient.from_settings(settings)
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    if job["post"] is not None:

        def on_complete(completed: list[CompletedPost]) -> None:
            with transaction(engine) as connection:
                store_completed_posts(connection, completed, datetime.now().astimezone())

        tally = CommentsFetcher(client, on_complete).run(
            [PostFetch(*job["post"])], lambda batch: read_stored(engine, batch)
        )
        assert not tally.failures, tally.failures
    else:
        report = crawl_groups(engine, client, rows)
        assert report.ok, [(g.group_id, g.status, g.error) for g in report.groups]
    seconds = time.perf_counter() - start
    out.put({"baseline": baseline, "peak": _status_mb("VmHWM"), "seconds": seconds})
    client.close()
    engine.dispose()


def _in_child(job: dict[str, Any], timeout: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=_child, args=(job, out))
    process.start()
    try:
        result: dict[str, float] = out.get(timeout=timeout)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    return result


def big_post_rss() -> dict[str, float]:
    """Peak RSS of a process that reads and stores the biggest post of the `large` world."""
    config = EmulatorConfig(
        scenario="large", seed=LARGE_SEED, tokens=TOKENS, rate_limit_per_second=None
    )
    with run_emulator(config) as emu, scratch_database(admin_url(), "vkpipe_bench_rss") as url:
        post = max(emu.world.iter_posts(), key=lambda p: p.n_comments)
        comments = len(emu.world.comments_of(post))
        assert comments >= BIG_POST_MIN_COMMENTS, comments
        target = (post.owner_id, post.post_id, emu.world.comments_count(post))
        job = {"database_url": url, "vk_api_url": emu.base_url, "post": target, "rps": 100}
        result = _in_child(job, 300)
        engine = make_engine(url)
        result["comments"] = stored_comments(engine)
        engine.dispose()
    result["post"] = f"wall{post.owner_id}_{post.post_id}"  # type: ignore[assignment]
    return result


def large_crawl_rss(quick: bool) -> dict[str, float]:
    """Peak RSS of `crawl_groups` over the `large` world (quick: its last 30 days of posts)."""
    config = EmulatorConfig(
        scenario="large", seed=LARGE_SEED, tokens=TOKENS, rate_limit_per_second=None
    )
    with run_emulator(config) as emu, scratch_database(admin_url(), "vkpipe_bench_rss") as url:
        engine = make_engine(url)
        age = None
        if quick:  # the world ends at its start time; keep the posts of its last days only
            age = (time.time() - emu.world.start_now) // 86_400 + QUICK_POST_AGE_DAYS
        groups = register(emu, engine, int(age) if age is not None else None)
        job = {"database_url": url, "vk_api_url": emu.base_url, "post": None, "rps": 100}
        result = _in_child(job, 1800)
        result["comments"] = stored_comments(engine)
        result["groups"] = groups
        engine.dispose()
    return result


# ---- figures ----------------------------------------------------------------------------------


def _vs_floor(name: str, m: dict[str, float], goal: bool, extra: str) -> dict[str, Any]:
    budget = len(TOKENS) * LIMIT_PER_SECOND
    floor = m["requests"] / budget
    ratio = m["seconds"] / floor
    return {
        "name": name,
        "value": round(ratio, 3),
        "unit": "× the floor",
        "baseline": round(floor, 3),
        "baseline_unit": "s floor",
        "ratio": None,
        "goal": f"≤ {GOAL_VS_FLOOR:g}" if goal else None,
        "met": ratio <= GOAL_VS_FLOOR if goal else None,
        "detail": (
            f"{m['seconds']:.2f} s for {int(m['requests'])} requests ({int(m['comments']):,} "
            f"comments; {int(m['error6'])} answered error 6); floor {m['requests']:.0f} ÷ "
            f"({len(TOKENS)} tokens × {LIMIT_PER_SECOND}/s) = {floor:.2f} s{extra}"
        ),
    }


def _rss(name: str, m: dict[str, Any], what: str) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(m["peak"], 1),
        "unit": "MB peak RSS",
        "baseline": round(m["baseline"], 1),
        "baseline_unit": "MB after imports",
        "ratio": round(m["peak"] / m["baseline"], 3),
        "goal": None,
        "met": None,
        "detail": (
            f"{what}: {int(m['comments']):,} comments stored in {m['seconds']:.1f} s; peak "
            f"{m['peak']:.1f} MB (VmHWM), {m['peak'] - m['baseline']:.1f} MB above the process "
            "after imports and setup"
        ),
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """All four figures; quick crawls a slice of the `large` world for the memory figure."""
    local = in_process_vs_floor()
    free = in_process_vs_floor(None)
    spread = f"; unthrottled (no limit anywhere) the same crawl took {free['seconds']:.2f} s"
    figures = [_vs_floor("e2e_vs_floor", local, True, spread)]
    fleet_run = distributed_vs_floor()
    figures.append(
        _vs_floor(
            "e2e_distributed_vs_floor",
            fleet_run,
            False,
            "; from the first job's creation to the last job's end (2 fetch workers × 4 "
            "threads, dispatch every 1 s, Redis limiter)",
        )
    )
    post = big_post_rss()
    figures.append(
        _rss(
            "fetch_worker_peak_rss_mb_3000_comments",
            post,
            f"{post['post']} of the large world (3,000 comments made, seed {LARGE_SEED})",
        )
    )
    large = large_crawl_rss(quick)
    scope = f"the last {QUICK_POST_AGE_DAYS} days of posts" if quick else "every group"
    figures.append(
        _rss(
            "large_crawl_peak_rss_mb",
            large,
            f"crawl_groups over the large world (seed {LARGE_SEED}), {scope}, into PostgreSQL",
        )
    )
    return figures


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING", stream=sys.stderr)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a slice of the large world")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']} (goal {f['goal']}, met {f['met']})")
        print(f"    {f['detail']}")
