"""The VK client against the real emulator over loopback: faults, tokens, execute, limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from parser_pipeline.emulator import Emulator, EmulatorConfig, FaultConfig, run_emulator
from parser_pipeline.emulator import service as emulator_service
from parser_pipeline.errors import (
    VkAccessDeniedError,
    VkNoTokensError,
    VkTransportError,
)
from parser_pipeline.settings import load_settings
from parser_pipeline.vk.client import CallOutcome, VkCall, VkClient

TOKENS = ("tok-a-0001", "tok-b-0002", "tok-c-0003")
REVOKED = "tok-bad-9999"
OPEN_GROUPS = ("gorod_novosti", "dvor_i_doroga")
CLOSED_GROUP = "zakrytyi_klub"


def make_client(emu: Emulator, tokens: tuple[str, ...] = TOKENS, **overrides: Any) -> VkClient:
    options: dict[str, Any] = {
        "vk_api_url": emu.base_url,
        "vk_tokens": ",".join(tokens),
        "vk_backoff_base_seconds": 0.01,
        "vk_backoff_cap_seconds": 0.1,
        "vk_read_timeout_seconds": 2.0,
        "vk_rps_per_token": 100,
    }
    options.update(overrides)
    return VkClient.from_settings(load_settings(**options))


@pytest.fixture
def emu() -> Iterator[Emulator]:
    config = EmulatorConfig(
        scenario="small",
        seed=1,
        tokens=TOKENS,
        revoked_tokens=(REVOKED,),
        rate_limit_per_second=None,
    )
    with run_emulator(config) as emulator:
        yield emulator


def crawl(client: VkClient, groups: tuple[str, ...]) -> dict[str, Any]:
    """Everything the crawl would read: screen names, group cards, walls, all comments."""
    resolved = {name: client.resolve_screen_name(name) for name in groups}
    cards = client.get_groups(groups)
    walls = client.call_many(
        [VkCall("wall.get", {"owner_id": -g["id"], "count": 100}) for g in cards]
    )
    comment_calls = [
        VkCall(
            "wall.getComments",
            {"owner_id": p["owner_id"], "post_id": p["id"], "count": 100, "need_likes": 1},
        )
        for w in walls
        for p in (w.value or {}).get("items", [])
    ]
    comments = client.call_many(comment_calls)
    return {
        "resolved": resolved,
        "cards": cards,
        "walls": [(o.value, type(o.error).__name__, o.error and o.error.code) for o in walls],
        "comments": [(o.value, type(o.error).__name__, o.error and o.error.code) for o in comments],
    }


def test_hostile_faults_every_call_returns_exactly_the_right_data() -> None:
    groups = (*OPEN_GROUPS, CLOSED_GROUP)
    base = EmulatorConfig(scenario="standard", seed=3, tokens=TOKENS, rate_limit_per_second=None)
    with run_emulator(base) as calm:
        expected = crawl(make_client(calm), groups)
    hostile = EmulatorConfig(
        scenario="standard",
        seed=3,
        tokens=TOKENS,
        rate_limit_per_second=None,
        # Four requests in ten go wrong (every kind), far worse than the hostile preset.
        faults=FaultConfig(rate=0.4, seed=7, slow_seconds=0.05),
    )
    with run_emulator(hostile) as emu:
        client = make_client(emu, vk_max_attempts=15)
        got = crawl(client, groups)
        faults = emu.stats()["faults_injected"]
    assert got == expected
    assert len(expected["comments"]) > 100  # a real workload, several execute batches
    assert len(faults) >= 3, faults  # the faults did happen...
    assert sum(faults.values()) >= 10, faults
    assert client.counters.snapshot()["retries"] >= 5  # ...and were retried away


def test_revoked_token_is_dropped_with_one_warning_and_the_others_finish(emu: Emulator) -> None:
    client = make_client(emu, tokens=(REVOKED, *TOKENS))
    with structlog.testing.capture_logs() as logs:
        data = crawl(client, OPEN_GROUPS)
    assert {code for *_, code in data["comments"]} == {None, 212}  # 212: comments closed
    dropped = [e for e in logs if e["event"] == "vk.token_dropped"]
    assert len(dropped) == 1
    assert dropped[0]["token"] == "…9999"
    assert emu.stats()["requests_by_token"][REVOKED] == 1
    assert client.counters.snapshot()["tokens_dropped"] == 1


def test_token_revoked_mid_run_is_dropped_and_work_continues(emu: Emulator) -> None:
    client = make_client(emu)
    client.call("utils.resolveScreenName", {"screen_name": "gorod_novosti"})
    emu.revoke_token(TOKENS[0])
    emu.revoke_token(TOKENS[1])
    for _ in range(6):
        assert client.call("utils.resolveScreenName", {"screen_name": "gorod_novosti"})
    assert [t["dropped"] for t in client.pool.status()] == [True, True, False]


def test_no_usable_token_fails_promptly_with_one_clear_error(emu: Emulator) -> None:
    client = make_client(emu, tokens=(REVOKED,))
    started = time.monotonic()
    with pytest.raises(VkNoTokensError, match="add a valid token to VKPIPE_VK_TOKENS"):
        client.call("utils.resolveScreenName", {"screen_name": "gorod_novosti"})
    with pytest.raises(VkNoTokensError):
        client.call_many([VkCall("wall.get", {"owner_id": -1}), VkCall("wall.get", {})])
    assert time.monotonic() - started < 1.0
    assert emu.stats()["total_requests"] == 1  # the pool remembers; no spinning


def test_permanent_error_surfaces_once_typed_without_retries(emu: Emulator) -> None:
    client = make_client(emu)
    closed = client.resolve_screen_name(CLOSED_GROUP)["object_id"]
    emu.reset_stats()
    with pytest.raises(VkAccessDeniedError) as info:
        client.call("wall.get", {"owner_id": -closed, "count": 10})
    assert info.value.code == 15
    assert info.value.method == "wall.get"
    assert info.value.params == {"owner_id": -closed, "count": 10}
    assert emu.stats()["total_requests"] == 1
    assert client.counters.snapshot()["retries"] == 0


def test_execute_batch_returns_good_slots_and_typed_errors_for_bad(emu: Emulator) -> None:
    client = make_client(emu)
    ids = [client.resolve_screen_name(n)["object_id"] for n in (*OPEN_GROUPS, CLOSED_GROUP)]
    calls = [VkCall("wall.get", {"owner_id": -i, "count": 5}) for i in ids]
    calls.insert(1, VkCall("wall.getComments", {"owner_id": -ids[0], "post_id": 999_999_999}))
    emu.reset_stats()
    outcomes = client.call_many(calls)
    assert [o.call for o in outcomes] == calls
    assert [o.ok for o in outcomes] == [True, False, True, False]
    assert outcomes[0].value["items"]
    assert outcomes[2].value["items"]
    assert outcomes[1].error is not None
    assert outcomes[1].error.code == 100
    assert isinstance(outcomes[3].error, VkAccessDeniedError)
    assert outcomes[3].error.params["owner_id"] == -ids[2]
    stats = emu.stats()
    assert stats["requests_by_method"] == {"execute": 1}  # permanent slot errors: no retry
    assert stats["execute_inner_calls"] == 4


def test_error_13_splits_the_batch(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client(emu)
    owner = -client.resolve_screen_name("gorod_novosti")["object_id"]
    posts = client.call("wall.get", {"owner_id": owner, "count": 100})["items"]
    calls = [VkCall("wall.getComments", {"owner_id": owner, "post_id": p["id"]}) for p in posts]
    expected = [o.value for o in client.call_many(calls)]
    biggest = max(len(str(v)) for v in expected)
    # The emulator's "response too big" cap, lowered so that about two answers fit.
    monkeypatch.setattr(emulator_service, "EXECUTE_MAX_RESPONSE_BYTES", 2 * biggest + 200)
    with structlog.testing.capture_logs() as logs:
        outcomes = client.call_many(calls)
    assert [o.value for o in outcomes] == expected
    assert client.counters.snapshot()["execute_splits"] >= 2
    assert any(e["event"] == "vk.execute_split" for e in logs)


def test_in_process_limiter_keeps_the_emulator_strict_limit(emu: Emulator) -> None:
    emu.set_rate_limit(3)
    client = make_client(emu, tokens=TOKENS[:2], vk_rps_per_token=3)
    started = time.monotonic()
    for _ in range(15):
        client.call("utils.resolveScreenName", {"screen_name": "gorod_novosti"})
    elapsed = time.monotonic() - started
    stats = emu.stats()
    assert stats["rate_limited"] == 0
    assert elapsed >= 1.9  # 15 requests at 2 tokens x 3/s need two more windows
    snapshot = client.counters.snapshot()
    assert snapshot["limiter_waits"] >= 1
    assert snapshot["retries"] == 0


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (FaultConfig(rates={"http502": 1.0}), "HTTP 502"),
        (FaultConfig(rates={"truncated_json": 1.0}), "broken JSON"),
        (FaultConfig(rates={"slow": 1.0}, slow_seconds=1.0), "timed out"),
    ],
)
def test_transport_failures_are_transient_and_retried_to_the_limit(
    emu: Emulator, faults: FaultConfig, message: str
) -> None:
    emu.set_faults(faults)
    client = make_client(emu, vk_max_attempts=3, vk_read_timeout_seconds=0.2)
    with pytest.raises(VkTransportError, match=message) as info:
        client.call("utils.resolveScreenName", {"screen_name": "gorod_novosti"})
    assert info.value.method == "utils.resolveScreenName"
    assert client.counters.snapshot()["retries"] == 2
    outcome = client.call_many([VkCall("utils.resolveScreenName", {"screen_name": "x"})])[0]
    assert isinstance(outcome.error, VkTransportError)


def test_cached_helpers_hit_vk_once_until_invalidated(emu: Emulator) -> None:
    client = make_client(emu)
    first = client.resolve_screen_name("gorod_novosti")
    assert client.resolve_screen_name("Gorod_Novosti") == first
    assert client.resolve_screen_name("no_such_name_at_all") == []
    gid = first["object_id"]
    cards = client.get_groups(["gorod_novosti", str(gid), f"club{gid}", -gid])
    assert [c["id"] for c in cards] == [gid] * 4
    assert client.get_groups([first["object_id"]]) == cards[:1]
    assert emu.stats()["requests_by_method"] == {"utils.resolveScreenName": 2, "groups.getById": 1}
    client.invalidate_group(first["object_id"])
    client.resolve_screen_name("gorod_novosti")
    client.get_groups(["gorod_novosti"])
    assert emu.stats()["requests_by_method"] == {"utils.resolveScreenName": 3, "groups.getById": 2}


def test_call_many_keeps_input_order_and_handles_empty_input(emu: Emulator) -> None:
    client = make_client(emu)
    assert client.call_many([]) == []
    names = ["gorod_novosti", "dvor_i_doroga"] * 20
    outcomes = client.call_many(
        [VkCall("utils.resolveScreenName", {"screen_name": n}) for n in names]
    )
    assert all(isinstance(o, CallOutcome) and o.ok for o in outcomes)
    assert [o.call.params["screen_name"] for o in outcomes] == names
    assert emu.stats()["requests_by_method"] == {"execute": 2}


def test_outcomes_carry_the_callers_own_call_objects(emu: Emulator) -> None:
    client = make_client(emu)
    ids = [client.resolve_screen_name(n)["object_id"] for n in OPEN_GROUPS]
    calls = [VkCall("groups.getById", {"group_ids": ids}), VkCall("users.get", {"user_ids": []})]
    outcomes = client.call_many(calls)
    assert outcomes[0].call is calls[0]
    assert [g["id"] for g in outcomes[0].value["groups"]] == ids


def test_parallel_batches_stay_within_the_strict_limit(emu: Emulator) -> None:
    emu.set_rate_limit(3)
    client = make_client(emu, vk_rps_per_token=3)
    calls = [VkCall("utils.resolveScreenName", {"screen_name": "gorod_novosti"})] * 150
    outcomes = client.call_many(calls)
    assert all(o.ok for o in outcomes)
    stats = emu.stats()
    assert stats["requests_by_method"] == {"execute": 6}
    assert stats["rate_limited"] == 0
