"""Benchmark: a crawl of a world needing over 1,000 requests, in one process and by a fleet,
against the token floor at VK's real limit, with VK-like latency.

Run: `.venv/bin/python -m bench e2e [--quick]` (or `-m bench.e2e`). Needs PostgreSQL
(`bench/pgscratch.py`) and Redis (`bench/services.py`: VKPIPE_BENCH_REDIS_URL, default
redis://127.0.0.1:6379; its database 4 is flushed before and after).

The world is the emulator's `wide` scenario (seed 1: 40 walls × 800 lightly commented posts,
about 1,200 requests). The emulator limits each of 3 tokens to 3 requests per second, judged
when a request arrives, and answers with VK's latency (`LatencyConfig.vk_like`: 0.15 s + 0.02 s
per inner call ± 30%, one answer in 50 four times slower, up to 40 ms of travel before the
limit is judged: an execute of 25 calls takes 0.46–0.85 s, slow ones up to 3.4 s). Faults off.
- `e2e_vs_floor`: `crawl_groups` (what `vkpipe crawl` runs, concurrency and limit from the
  default settings) in a spawned process, into a fresh migrated SQLite database; its seconds ÷
  the floor, where floor = the emulator's request count ÷ (3 tokens × 3/s).
- `e2e_fleet_vs_floor`: the same world crawled by a fleet (2 fetch workers × 8 threads, the
  `vkpipe worker fetch` default; 1 dispatch worker; beat; Redis limiter) into a scratch
  PostgreSQL database, from the first job's creation to the last job's end, ÷ its own floor.
- `fleet_requests_vs_inprocess`: the fleet's requests ÷ the in-process crawl's on that world,
  both counted by the emulator, error 6 answers left out (a refused request carried nothing).
Beside them (in `detail`): the same in-process crawl with no limit and no latency (what the
crawl costs apart from VK), the error 6 answers, and the load average before and after each
run (the machine is shared: load slows the crawl and moves requests closer together).
`--quick` crawls only the posts of the world's last 120 days (about a sixth of it).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from bench.fleet import Fleet, fleet_environment, register_all
from bench.pgscratch import admin_url, scratch_database
from bench.services import flushed_redis
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.emulator.config import LatencyConfig
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import crawl_jobs, vk_comments
from parser_pipeline.vk.client import VkClient

TOKENS = ("bench-e2e-token-1", "bench-e2e-token-2", "bench-e2e-token-3")
LIMIT_PER_SECOND = 3  # VK's limit per user token
# The client's limit for a crawl that measures itself, not VK's pace (the emulator sets none).
UNTHROTTLED_RPS = 100
SCENARIO, SEED = "wide", 1
MIN_REQUESTS = 1000  # the world: fixed costs must not dominate the figure
QUICK_POST_AGE_DAYS = 120
GOAL_VS_FLOOR = 1.15
GOAL_FLEET_REQUESTS = 1.1
# Broker, results and VK limiter of the benchmark fleets: one Redis database, ours alone.
REDIS_DB = 4
FETCH_WORKERS = 2
FETCH_THREADS = 8  # parser_pipeline/cli/fleet.py POOLS: `vkpipe worker fetch`'s default
# A fleet or crawl that has not finished by then is broken; the benchmark fails, not hangs.
DEADLINE_SECONDS = 900.0
POLL_SECONDS = 0.2
FINAL = ("succeeded", "failed", "cancelled")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def _emulator(limited: bool) -> Any:
    """The `wide` world: VK's limit and latency (limited), or neither."""
    return run_emulator(
        EmulatorConfig(
            scenario=SCENARIO,
            seed=SEED,
            tokens=TOKENS,
            rate_limit_per_second=LIMIT_PER_SECOND if limited else None,
            faults=FaultConfig.off(),
            latency=LatencyConfig.vk_like(SEED) if limited else LatencyConfig(),
        )
    )


def _crawl_settings(emu: Emulator, quick: bool) -> CrawlSettings:
    if not quick:
        return CrawlSettings()
    # The world ends at its start time: keep the posts of its last days only.
    age = (time.time() - emu.world.start_now) // 86_400 + QUICK_POST_AGE_DAYS
    return CrawlSettings(max_post_age_days=int(age))


def stored_comments(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(vk_comments)).scalar_one())


def job_requests(engine: Engine) -> int:
    """What the jobs recorded (both runners count the requests their calls took)."""
    with engine.connect() as connection:
        total = connection.execute(select(func.sum(crawl_jobs.c.requests_count))).scalar_one()
    return int(total or 0)


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


def _counts(emu: Emulator) -> dict[str, int]:
    stats = emu.stats()
    return {
        "requests": int(stats["total_requests"]),
        "error6": int(stats["errors_by_code"].get(6, 0)),
    }


# ---- in one process ---------------------------------------------------------------------------


def timed_crawl(
    job: dict[str, Any], rps: int, *, before: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """`crawl_groups` over the stored groups as `vkpipe crawl` runs it (settings, client, policy,
    concurrency), timed; `before` runs once everything is set up, just before the crawl."""
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING", stream=sys.stderr)
    settings = load_settings(
        database_url=job["database_url"],
        vk_api_url=job["vk_api_url"],
        vk_tokens=",".join(TOKENS),
        vk_rps_per_token=rps,
    )
    engine = make_engine(settings.database_url)
    client = VkClient.from_settings(settings)
    try:
        with engine.connect() as connection:
            rows = group_store.list_groups(connection)
        policy = CrawlPolicy(settings.recheck_tiers, settings.full_verify_every)
        before()
        cpu = time.process_time()
        start = time.perf_counter()
        report = crawl_groups(
            engine, client, rows, policy=policy, concurrency=settings.crawl_concurrency
        )
        seconds = time.perf_counter() - start
        assert report.ok, [(g.group_id, g.status, g.error) for g in report.groups]
        return {
            "seconds": seconds,
            "cpu": time.process_time() - cpu,
            "concurrency": settings.crawl_concurrency,
        }
    finally:
        client.close()
        engine.dispose()


def _child(job: dict[str, Any], out: Any) -> None:
    """In a spawned process: the crawl, timed."""
    out.put(timed_crawl(job, job["rps"]))


def in_child(target: Any, job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run `target(job, queue)` in a spawned process (its own GIL, as VK is not in the crawler's
    process either); returns what it put on the queue."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    process = ctx.Process(target=target, args=(job, out))
    process.start()
    try:
        result: dict[str, Any] = out.get(timeout=timeout)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    return result


def in_process(quick: bool, limited: bool = True) -> dict[str, Any]:
    """`crawl_groups` over the world: seconds, requests, error 6, comments, load."""
    with (
        _emulator(limited) as emu,
        tempfile.TemporaryDirectory(prefix="vkpipe-bench-e2e-") as workdir,
    ):
        url = f"sqlite:///{Path(workdir) / 'vkpipe.db'}"
        migrations.upgrade(url)
        engine = make_engine(url)
        try:
            register_all(engine, emu, TOKENS, _crawl_settings(emu, quick))
            time.sleep(1.1)  # registration's requests leave the one-second window
            emu.reset_stats()
            load_before = _load()
            emulator_cpu = time.process_time()
            job = {"database_url": url, "vk_api_url": emu.base_url}
            result = in_child(
                _child, {**job, "rps": LIMIT_PER_SECOND if limited else UNTHROTTLED_RPS}, 900
            )
            result["emulator_cpu"] = time.process_time() - emulator_cpu
            result |= _counts(emu)
            result |= {"load": f"{load_before} → {_load()}", "comments": stored_comments(engine)}
            result["job_requests"] = job_requests(engine)
        finally:
            engine.dispose()
    return result


# ---- a fleet ----------------------------------------------------------------------------------


@contextmanager
def fleet(
    emu: Emulator,
    database_url: str,
    rps_per_token: int,
    *,
    fetch_workers: int = FETCH_WORKERS,
    fetch_threads: int = FETCH_THREADS,
) -> Iterator[Fleet]:
    """A running fleet against `emu` and `database_url` (fetch workers, a dispatch worker,
    beat; analysis and export are not started); its Redis database flushed before and after."""
    with (
        flushed_redis(REDIS_DB) as url,
        tempfile.TemporaryDirectory(prefix="vkpipe-bench-fleet-") as workdir,
    ):
        env = fleet_environment(
            database_url=database_url,
            broker_url=url,
            limiter_url=url,
            vk_api_url=emu.base_url,
            tokens=TOKENS,
            settings={
                "vk_rps_per_token": str(rps_per_token),
                "dispatch_interval_seconds": "1",
                "log_level": "WARNING",
            },
        )
        running = Fleet(env, Path(workdir))
        try:
            for n in range(1, fetch_workers + 1):
                running.worker(f"fetch{n}", "fetch", "-P", "threads", "-c", str(fetch_threads))
            running.worker("dispatch", "dispatch", "-P", "threads", "-c", "2")
            running.beat()
            yield running
        finally:
            running.stop()


def wait_for_jobs(engine: Engine, running: Fleet, groups: int) -> tuple[datetime, datetime]:
    """The fleet's (first job created, last job ended); fails on a dead process or a hang."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (span := job_span(engine, groups)) is None:
        if running.exited() or time.monotonic() > deadline:
            raise RuntimeError(f"the fleet did not finish\n{running.logs()}")
        time.sleep(POLL_SECONDS)
    return span


def by_fleet(quick: bool) -> dict[str, Any]:
    """The fleet's seconds from the first job's creation to the last job's end, and requests."""
    with _emulator(True) as emu, scratch_database(admin_url(), "vkpipe_bench_e2e") as url:
        engine = make_engine(url)
        try:
            groups = register_all(engine, emu, TOKENS, _crawl_settings(emu, quick))
            time.sleep(1.1)
            emu.reset_stats()
            load_before = _load()
            emulator_cpu = time.process_time()
            with fleet(emu, url, LIMIT_PER_SECOND) as running:
                first, last = wait_for_jobs(engine, running, groups)
                cpu = running.cpu_seconds()
            result: dict[str, Any] = {"seconds": (last - first).total_seconds()}
            result["emulator_cpu"] = time.process_time() - emulator_cpu
            result["cpu"] = sum(cpu.values())
            result["cpu_by_process"] = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(cpu.items()))
            result |= _counts(emu)
            result |= {"load": f"{load_before} → {_load()}", "comments": stored_comments(engine)}
            result["job_requests"] = job_requests(engine)
        finally:
            engine.dispose()
    return result


# ---- figures ----------------------------------------------------------------------------------

BUDGET = len(TOKENS) * LIMIT_PER_SECOND


def vs_floor(name: str, m: dict[str, Any], how: str) -> dict[str, Any]:
    floor = m["requests"] / BUDGET
    ratio = m["seconds"] / floor
    by_process = f": {m['cpu_by_process']}" if "cpu_by_process" in m else ""
    big_enough = m["requests"] >= MIN_REQUESTS
    return {
        "name": name,
        "value": round(ratio, 3),
        "unit": "× the floor",
        "baseline": round(floor, 2),
        "baseline_unit": "s floor",
        "ratio": None,
        "goal": f"≤ {GOAL_VS_FLOOR:g}, on ≥ {MIN_REQUESTS:,} requests",
        "met": ratio <= GOAL_VS_FLOOR and big_enough,
        "detail": (
            f"{how}: {m['seconds']:.1f} s for {m['requests']:,} requests ({m['error6']} answered "
            f"error 6; the jobs recorded {m['job_requests']:,}); {m['comments']:,} comments; "
            f"floor {m['requests']:,} ÷ ({len(TOKENS)} tokens × {LIMIT_PER_SECOND}/s) = "
            f"{floor:.1f} s; CPU used by the crawl {m['cpu']:.0f} s "
            f"({1000 * m['cpu'] / m['requests']:.0f} ms per request{by_process}), by the "
            f"emulator's process {m['emulator_cpu']:.0f} s; load average (1/5 min) {m['load']}"
        ),
    }


def figures(local: dict[str, Any], free: dict[str, Any], fleet_run: dict[str, Any]) -> list[Any]:
    world = f"`{SCENARIO}` world, seed {SEED}, latency vk_like, limit judged on arrival"
    local_how = (
        f"crawl_groups in one process ({world}; concurrency {local['concurrency']}); with no "
        f"limit and no latency the same crawl took {free['seconds']:.1f} s for "
        f"{free['requests']:,} requests, {free['cpu']:.0f} s of CPU (load {free['load']})"
    )
    fleet_how = (
        f"fleet ({world}; {FETCH_WORKERS} fetch workers × {FETCH_THREADS} threads, dispatch "
        "every 1 s, Redis limiter), first job created → last job ended"
    )
    fleet_ok = fleet_run["requests"] - fleet_run["error6"]
    local_ok = local["requests"] - local["error6"]
    share = fleet_ok / local_ok
    return [
        vs_floor("e2e_vs_floor", local, local_how),
        vs_floor("e2e_fleet_vs_floor", fleet_run, fleet_how),
        {
            "name": "fleet_requests_vs_inprocess",
            "value": round(share, 3),
            "unit": "× the in-process requests",
            "baseline": local_ok,
            "baseline_unit": "in-process requests",
            "ratio": None,
            "goal": f"≤ {GOAL_FLEET_REQUESTS:g}",
            "met": share <= GOAL_FLEET_REQUESTS,
            "detail": (
                f"{world}: fleet {fleet_ok:,} requests, one process {local_ok:,} (emulator's "
                f"counts without error 6 answers: fleet {fleet_run['error6']}, one process "
                f"{local['error6']}); unthrottled one process {free['requests']:,}"
            ),
        },
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    local = in_process(quick)
    free = in_process(quick, limited=False)
    fleet_run = by_fleet(quick)
    return figures(local, free, fleet_run)


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING", stream=sys.stderr)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the last 120 days of posts only")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']} (goal {f['goal']}, met {f['met']})")
        print(f"    {f['detail']}")
