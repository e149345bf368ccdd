"""Benchmark: the peak memory of `crawl_groups` over the emulator's `large` world.

Run: `.venv/bin/python -m bench memory [--quick]` (or `-m bench.memory`). Needs PostgreSQL
(`bench/pgscratch.py`). `large_crawl_peak_rss_mb`: a fresh process runs `crawl_groups` (what
`vkpipe crawl` runs) over the whole `large` world (seed 2, 1,170,221 comments made; limit,
latency and faults off) into a scratch PostgreSQL database; its peak RSS (VmHWM) vs its RSS
after imports and setup. `--quick`: only the posts of the world's last 30 days.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

from bench.e2e import TOKENS, UNTHROTTLED_RPS, in_child, stored_comments, timed_crawl
from bench.fleet import register_all
from bench.pgscratch import admin_url, scratch_database
from parser_pipeline.emulator import EmulatorConfig, run_emulator
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.groups import CrawlSettings

LARGE_SEED = 2
QUICK_POST_AGE_DAYS = 30


def _status_mb(field: str) -> float:
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    assert found, f"no {field} in /proc/self/status"
    return int(found.group(1)) / 1024


def _child(job: dict[str, Any], out: Any) -> None:
    """In a spawned process: set up, note RSS, crawl, note peak RSS (VmHWM)."""
    baseline: list[float] = []
    crawl = timed_crawl(job, UNTHROTTLED_RPS, before=lambda: baseline.append(_status_mb("VmRSS")))
    out.put({"baseline": baseline[0], "peak": _status_mb("VmHWM"), "seconds": crawl["seconds"]})


def measure(quick: bool) -> dict[str, Any]:
    config = EmulatorConfig(
        scenario="large", seed=LARGE_SEED, tokens=TOKENS, rate_limit_per_second=None
    )
    with run_emulator(config) as emu, scratch_database(admin_url(), "vkpipe_bench_rss") as url:
        engine = make_engine(url)
        age = None
        if quick:  # the world ends at its start time; keep the posts of its last days only
            age = int((time.time() - emu.world.start_now) // 86_400 + QUICK_POST_AGE_DAYS)
        register_all(engine, emu, TOKENS, CrawlSettings(max_post_age_days=age))
        job = {"database_url": url, "vk_api_url": emu.base_url}
        result = in_child(_child, job, 1800)
        result["comments"] = stored_comments(engine)
        engine.dispose()
    return result


def run(quick: bool) -> list[dict[str, Any]]:
    m = measure(quick)
    scope = f"the last {QUICK_POST_AGE_DAYS} days of posts" if quick else "every group"
    return [
        {
            "name": "large_crawl_peak_rss_mb",
            "value": round(m["peak"], 1),
            "unit": "MB peak RSS",
            "baseline": round(m["baseline"], 1),
            "baseline_unit": "MB after imports",
            "ratio": round(m["peak"] / m["baseline"], 3),
            "goal": None,
            "met": None,
            "detail": (
                f"crawl_groups over the large world (seed {LARGE_SEED}), {scope}, into "
                f"PostgreSQL: {m['comments']:,} comments stored in {m['seconds']:.1f} s; peak "
                f"{m['peak']:.1f} MB (VmHWM), {m['peak'] - m['baseline']:.1f} MB above the "
                "process after imports and setup"
            ),
        }
    ]


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    configure_logging(level="WARNING", stream=sys.stderr)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="the last 30 days of posts only")
    args = parser.parse_args()
    for f in run(args.quick):
        print(f"{f['name']}: {f['value']} {f['unit']}")
        print(f"    {f['detail']}")
