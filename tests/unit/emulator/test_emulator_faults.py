"""Contract: injected faults (kinds, rates, determinism) and the default of no faults."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig
from parser_pipeline.emulator.config import FAULT_KINDS
from parser_pipeline.emulator.service import Reply, VkService

PARAMS = {"screen_name": "gorod_novosti", "access_token": "emulator-token", "v": "5.199"}


def _replies(config: EmulatorConfig, n: int) -> list[Reply]:
    service = VkService(config)
    return [service.handle("utils.resolveScreenName", PARAMS) for _ in range(n)]


def test_faults_are_off_by_default() -> None:
    assert EmulatorConfig().faults == FaultConfig.off()
    replies = _replies(EmulatorConfig(rate_limit_per_second=None), 200)
    assert all(r.status == 200 and b'"response"' in r.body and r.delay == 0 for r in replies)


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    cfg = EmulatorConfig(rate_limit_per_second=None, faults=FaultConfig.hostile(seed=5))
    first, again = _replies(cfg, 300), _replies(cfg, 300)
    assert first == again
    other = EmulatorConfig(rate_limit_per_second=None, faults=FaultConfig.hostile(seed=6))
    assert _replies(other, 300) != first


def test_hostile_rate_and_every_kind_appears() -> None:
    service = VkService(EmulatorConfig(rate_limit_per_second=None, faults=FaultConfig.hostile(1)))
    for _ in range(3000):
        service.handle("utils.resolveScreenName", PARAMS)
    injected = service.stats.snapshot()["faults_injected"]
    assert set(injected) == set(FAULT_KINDS)
    share = sum(injected.values()) / 3000
    assert 0.08 < share < 0.2  # 10% plus the tails of error-6 bursts


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("http502", lambda r: r.status == 502 and r.body.startswith(b"<html>")),
        ("truncated_json", lambda r: r.status == 200 and not r.body.endswith(b"}")),
        ("slow", lambda r: r.status == 200 and r.delay == pytest.approx(0.05)),
        ("error9", lambda r: b'"error_code":9' in r.body),
        ("error10", lambda r: b'"error_code":10' in r.body),
    ],
)
def test_each_fault_kind_alone(kind: str, check: Callable[[Reply], bool]) -> None:
    faults = FaultConfig(rates={kind: 1.0}, slow_seconds=0.05)
    (reply,) = _replies(EmulatorConfig(rate_limit_per_second=None, faults=faults), 1)
    assert check(reply)


def test_error6_burst_hits_consecutive_requests_of_one_token() -> None:
    faults = FaultConfig(rates={"error6_burst": 0.05}, seed=3, burst_length=3)
    replies = _replies(EmulatorConfig(rate_limit_per_second=None, faults=faults), 400)
    codes = [b'"error_code":6' in r.body for r in replies]
    first = codes.index(True)
    assert codes[first : first + 3] == [True, True, True]


def test_faults_over_http_and_switching_off(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(faults=FaultConfig(rates={"http502": 0.5, "truncated_json": 0.5}, seed=2))
    session = requests.Session()
    url = f"{emu.base_url}/utils.resolveScreenName"
    statuses = set()
    for _ in range(20):
        resp = session.get(url, params=PARAMS, timeout=5)
        statuses.add(resp.status_code)
        if resp.status_code == 502:
            assert resp.headers["Content-Type"].startswith("text/html")
        else:
            with pytest.raises(requests.JSONDecodeError):
                resp.json()
    assert statuses == {200, 502}
    emu.set_faults(FaultConfig.off())
    assert session.get(url, params=PARAMS, timeout=5).json()["response"]["type"] == "page"


def test_slow_answer_is_delayed_over_http(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(faults=FaultConfig(rates={"slow": 1.0}, slow_seconds=0.3))
    with pytest.raises(requests.Timeout):
        requests.get(f"{emu.base_url}/utils.resolveScreenName", params=PARAMS, timeout=0.05)


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultConfig(rates={"meteor": 0.1})
    with pytest.raises(ValueError, match="within"):
        FaultConfig(rate=2.0)
