"""Benchmark: worker processes sharing VK tokens via the Redis limiter, on a strict emulator.

Run: `.venv/bin/python -m bench.rate_limit [--quick]` (needs Redis at VKPIPE_REDIS_URL or
redis://127.0.0.1:6379/15). Prints request-rate utilisation (goal ≥ 90% of tokens × limit)
and the share of requests that VK (the emulator) refused with error 6 (goal < 1%).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

import redis

from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.vk.client import VkClient
from parser_pipeline.vk.tokens import token_id

REDIS_URL = os.environ.get("VKPIPE_REDIS_URL", "redis://127.0.0.1:6379/15")
# Three tokens at VK's 3 requests per second: a 9 req/s budget the workers must share.
TOKENS = ("bench-token-alpha-0001", "bench-token-bravo-0002", "bench-token-charlie-003")
LIMIT_PER_SECOND = 3
UTILIZATION_GOAL = 0.90
ERROR6_GOAL = 0.01
# Seconds left out of the rate measurement: the first window's burst would flatter it.
WARMUP_SECONDS = 2.0


def _worker(base_url: str, seconds: float, ready: Any, go: Any, out: Any) -> None:
    settings = load_settings(
        vk_api_url=base_url,
        vk_tokens=",".join(TOKENS),
        vk_rps_per_token=LIMIT_PER_SECOND,
        vk_backoff_base_seconds=0.05,
        vk_backoff_cap_seconds=1.0,
    )
    client = VkClient.from_settings(settings, redis=redis.Redis.from_url(REDIS_URL))
    client.call("utils.resolveScreenName", {"screen_name": "warmup"})  # connect before timing
    ready.put(os.getpid())
    go.wait()
    started = time.time()
    done: list[float] = []
    while time.time() - started < seconds:
        client.call("utils.resolveScreenName", {"screen_name": "bench"})
        done.append(time.time())
    out.put({"started": started, "done": done, "counters": client.counters.snapshot()})
    client.close()


def _measure(emu: Emulator, processes: int, seconds: float) -> dict[str, float]:
    """Sustained rate (the first seconds' burst left out) and VK-side error 6 counts."""
    base_url = emu.base_url
    conn = redis.Redis.from_url(REDIS_URL)
    conn.delete(*[f"vkpipe:ratelimit:{token_id(t)}" for t in TOKENS])
    conn.close()
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(target=_worker, args=(base_url, seconds, ready, go, out))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    time.sleep(1.1)  # let the warm-up requests leave the one-second window
    emu.reset_stats()
    go.set()
    results = [out.get(timeout=seconds + 60) for _ in procs]
    for p in procs:
        p.join(timeout=10)
    stats = emu.stats()
    # An idle window lets one burst of tokens x limit through at once; measure after it.
    start = max(r["started"] for r in results) + WARMUP_SECONDS
    end = min(r["done"][-1] for r in results if r["done"])
    steady = sum(1 for r in results for t in r["done"] if start < t <= end)
    return {
        "requests": stats["total_requests"],
        "error6": stats["errors_by_code"].get(6, 0),
        "rate": steady / (end - start),
    }


def _figure(
    name: str, value: float, unit: str, baseline: float, goal: str, met: bool
) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "baseline": baseline,
        "ratio": round(value / baseline, 4) if baseline else None,
        "goal": goal,
        "met": met,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    """Measure 4 processes sharing 3 tokens (and 1 and 2 processes unless `quick`)."""
    seconds = 8.0 if quick else 20.0
    budget = len(TOKENS) * LIMIT_PER_SECOND
    config = EmulatorConfig(
        scenario="small",
        seed=1,
        tokens=TOKENS,
        rate_limit_per_second=LIMIT_PER_SECOND,
        faults=FaultConfig.off(),
    )
    figures: list[dict[str, Any]] = []
    with run_emulator(config) as emu:
        for processes in (4,) if quick else (1, 2, 4):
            m = _measure(emu, processes, seconds)
            suffix = "" if processes == 4 else f"_{processes}proc"
            utilization = m["rate"] / budget
            share = m["error6"] / m["requests"] if m["requests"] else 1.0
            figures.append(
                _figure(
                    "rate_limit_utilization" + suffix,
                    m["rate"],
                    "req/s",
                    budget,
                    f"≥ {UTILIZATION_GOAL:.0%} of {budget} req/s ({len(TOKENS)} tokens × "
                    f"{LIMIT_PER_SECOND}/s), {processes} processes",
                    utilization >= UTILIZATION_GOAL,
                )
            )
            figures.append(
                _figure(
                    "error6_share" + suffix,
                    share,
                    "share of requests",
                    ERROR6_GOAL,
                    f"< {ERROR6_GOAL:.0%} of requests answered error 6 "
                    f"({int(m['error6'])} of {int(m['requests'])}, counted by the emulator)",
                    share < ERROR6_GOAL,
                )
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="4 processes only, 8 s")
    args = parser.parse_args()
    for f in run(args.quick):
        mark = "ok " if f["met"] else "NOT"
        print(
            f"[{mark}] {f['name']:<32} {f['value']:>10} {f['unit']:<18} "
            f"ratio {f['ratio']}  goal: {f['goal']}"
        )


if __name__ == "__main__":
    main()
