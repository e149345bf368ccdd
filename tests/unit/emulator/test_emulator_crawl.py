"""Contract: a reference crawl (initial, then after each advance) equals the ground truth."""

from __future__ import annotations

import json
from typing import Any

import pytest
from emulator_refcrawl import Client, RefCrawler

from parser_pipeline.emulator import EmulatorConfig, FaultConfig, run_emulator

STEPS = 2


def _diff(got: dict[str, list[Any]], want: dict[str, list[Any]]) -> str:
    lines = []
    for key in want:
        a = {json.dumps(x, sort_keys=True) for x in got[key]}
        b = {json.dumps(x, sort_keys=True) for x in want[key]}
        if a != b:
            lines.append(f"{key}: crawl-only {sorted(a - b)[:2]} truth-only {sorted(b - a)[:2]}")
    return "\n".join(lines)


@pytest.mark.parametrize("scenario", ["small", "standard"])
@pytest.mark.parametrize("faults", ["off", "hostile"])
def test_reference_crawl_equals_truth(scenario: str, faults: str) -> None:
    fault_config = (
        FaultConfig.off() if faults == "off" else FaultConfig.hostile(seed=11, slow_seconds=0.05)
    )
    config = EmulatorConfig(
        scenario=scenario, seed=1, rate_limit_per_second=None, faults=fault_config
    )
    with run_emulator(config) as emu:
        crawler = RefCrawler(Client(emu.base_url), sorted(emu.world.group_screen_names()))
        crawler.crawl()
        assert crawler.result() == emu.truth(), _diff(crawler.result(), emu.truth())
        for _ in range(STEPS):
            emu.advance()
            crawler.crawl()
            assert crawler.result() == emu.truth(), _diff(crawler.result(), emu.truth())
        stats = emu.stats()
        if faults == "hostile":
            assert sum(stats["faults_injected"].values()) > 0
            assert crawler.client.retries > 0
        else:
            assert stats["faults_injected"] == {}
        assert stats["execute_inner_calls"] > 0


def test_crawl_without_execute_equals_truth() -> None:
    with run_emulator(EmulatorConfig(rate_limit_per_second=None)) as emu:
        crawler = RefCrawler(Client(emu.base_url), sorted(emu.world.group_screen_names()),
                             use_execute=False)  # fmt: skip
        crawler.crawl()
        emu.advance()
        crawler.crawl()
        assert crawler.result() == emu.truth()
