"""Contract: wall.getById, daily quotas (error 29, inside execute too, a new day), latency, and
time steps whose comment counts do not move."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from emulator_refcrawl import Client

from parser_pipeline.emulator import Emulator
from parser_pipeline.emulator.config import LatencyConfig, parse_latency
from parser_pipeline.emulator.server import NEW_DAY_PATH


def open_posts(emu: Emulator, count: int) -> list[tuple[int, int]]:
    group = emu.world.open_groups()[0]
    return [(p.owner_id, p.post_id) for p in emu.world.posts[group.owner_id][:count]]


def refs(keys: list[tuple[int, int]]) -> str:
    return ",".join(f"{o}_{p}" for o, p in keys)


# ---- wall.getById -------------------------------------------------------------


def test_get_by_id_answers_the_posts_as_wall_get_shows_them(
    small_emu: Emulator, vk: Client
) -> None:
    keys = open_posts(small_emu, 3)
    owner = keys[0][0]
    listed = {p["id"]: p for p in vk.call("wall.get", owner_id=owner, count=100)["items"]}
    got = vk.call("wall.getById", posts=refs(keys))
    assert set(got) == {"items"}
    assert [(p["owner_id"], p["id"]) for p in got["items"]] == keys
    for post in got["items"]:
        assert post == listed[post["id"]]


def test_get_by_id_leaves_out_what_does_not_exist_or_is_not_visible(
    small_emu: Emulator, vk: Client
) -> None:
    keys = open_posts(small_emu, 1)
    closed = small_emu.world.closed_groups()[0]
    hidden = (closed.owner_id, small_emu.world.posts[closed.owner_id][0].post_id)
    answer = vk.call(
        "wall.getById", posts=refs([keys[0], (keys[0][0], 999_999_999), hidden, keys[0]])
    )
    assert [(p["owner_id"], p["id"]) for p in answer["items"]] == keys


def test_get_by_id_extended_and_its_refusals(small_emu: Emulator, vk: Client) -> None:
    keys = open_posts(small_emu, 2)
    extended = vk.call("wall.getById", posts=refs(keys), extended=1)
    assert {"items", "profiles", "groups"} <= set(extended)
    assert vk.answer("wall.getById", {})["error"]["error_code"] == 100
    assert vk.answer("wall.getById", {"posts": "abc"})["error"]["error_code"] == 100
    too_many = ",".join(f"{keys[0][0]}_{i}" for i in range(101))
    assert vk.answer("wall.getById", {"posts": too_many})["error"]["error_code"] == 100


# ---- daily quotas ---------------------------------------------------------------


def test_a_method_past_its_quota_answers_29_for_that_token_only(
    fresh_emu: Callable[..., Emulator],
) -> None:
    emu = fresh_emu(scenario="small", tokens=("t1", "t2"), daily_quotas={"wall.get": 2})
    [(owner, post_id)] = open_posts(emu, 1)
    first, second = Client(emu.base_url, "t1", retry=False), Client(emu.base_url, "t2", False)
    assert "response" in first.answer("wall.get", {"owner_id": owner})
    assert "response" in first.answer("wall.get", {"owner_id": owner})
    refused = first.answer("wall.get", {"owner_id": owner})["error"]
    assert (refused["error_code"], refused["error_msg"]) == (29, "Rate limit reached")
    assert "response" in first.answer("wall.getComments", {"owner_id": owner, "post_id": post_id})
    assert "response" in second.answer("wall.get", {"owner_id": owner})  # its own quota
    assert emu.quota_usage() == {"t1": {"wall.get": 2}, "t2": {"wall.get": 1}}
    assert emu.stats()["quota_refused"] == 1


def test_calls_inside_execute_count_against_their_own_method(
    fresh_emu: Callable[..., Emulator],
) -> None:
    emu = fresh_emu(scenario="small", daily_quotas={"wall.get": 2})
    owner = emu.world.open_groups()[0].owner_id
    vk = Client(emu.base_url, retry=False)
    call = f'API.wall.get({{"owner_id":{owner}}})'
    body = vk.answer("execute", {"code": f"return [{call},{call},{call}];"})
    assert body["response"][:2] != [False, False]
    assert body["response"][2] is False
    assert body["execute_errors"] == [
        {"method": "wall.get", "error_code": 29, "error_msg": "Rate limit reached"}
    ]


def test_a_new_day_renews_every_quota(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(scenario="small", daily_quotas={"wall.get": 1})
    owner = emu.world.open_groups()[0].owner_id
    vk = Client(emu.base_url, retry=False)
    assert "response" in vk.answer("wall.get", {"owner_id": owner})
    assert vk.answer("wall.get", {"owner_id": owner})["error"]["error_code"] == 29
    emu.new_day()
    assert "response" in vk.answer("wall.get", {"owner_id": owner})
    # the same over HTTP, for `vkpipe emulator serve`
    assert vk.answer("wall.get", {"owner_id": owner})["error"]["error_code"] == 29
    host = emu.base_url.removesuffix("/method")
    assert requests.post(f"{host}{NEW_DAY_PATH}", timeout=5).json() == {"ok": True}
    assert "response" in vk.answer("wall.get", {"owner_id": owner})


def test_quota_days_can_follow_the_worlds_clock(fresh_emu: Callable[..., Emulator]) -> None:
    emu = fresh_emu(scenario="small", daily_quotas={"wall.get": 1}, quota_time="world")
    owner = emu.world.open_groups()[0].owner_id
    vk = Client(emu.base_url, retry=False)
    assert "response" in vk.answer("wall.get", {"owner_id": owner})
    assert vk.answer("wall.get", {"owner_id": owner})["error"]["error_code"] == 29
    emu.pass_time(86_400)  # the world's next day, whatever the real clock says
    assert "response" in vk.answer("wall.get", {"owner_id": owner})


# ---- latency --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", LatencyConfig()),
        ("vk", LatencyConfig.vk_like()),
        ("0.1+0.01~0.2^0.03", LatencyConfig(0.1, 0.01, 0.2, uplink_seconds=0.03)),
        ("0.25", LatencyConfig(0.25)),
    ],
)
def test_latency_settings(text: str, expected: LatencyConfig) -> None:
    assert parse_latency(text) == expected


def test_bad_latency_settings_say_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="BASE"):
        parse_latency("fast")
    with pytest.raises(ValueError, match="spread"):
        LatencyConfig(0.1, spread=1.5)


def _timed(vk: Client, method: str, params: dict[str, Any]) -> float:
    start = time.monotonic()
    assert "response" in vk.answer(method, params)
    return time.monotonic() - start


def test_answers_take_their_latency_and_executes_longer(
    fresh_emu: Callable[..., Emulator],
) -> None:
    emu = fresh_emu(scenario="small", latency=LatencyConfig(0.1, 0.02))
    owner = emu.world.open_groups()[0].owner_id
    vk = Client(emu.base_url, retry=False)
    single = _timed(vk, "wall.get", {"owner_id": owner})
    code = "return [" + ",".join([f'API.wall.get({{"owner_id":{owner}}})'] * 10) + "];"
    execute = _timed(vk, "execute", {"code": code})
    # lower bounds only: a busy machine may add time, never remove it
    assert single >= 0.1
    assert execute >= 0.1 + 10 * 0.02


def test_an_answers_latency_includes_building_it(
    fresh_emu: Callable[..., Emulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    """VK's latency is the time it takes to answer, building the answer included: an answer
    that takes the emulator 0.6 s to build leaves when its 0.6 s latency is over, not after
    both (which a crawl would see as VK twice as slow as configured)."""
    emu = fresh_emu(scenario="small", latency=LatencyConfig(0.6))
    handle = emu.service.handle

    def slow_to_build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.6)
        return handle(*args, **kwargs)

    monkeypatch.setattr(emu.service, "handle", slow_to_build)
    owner = emu.world.open_groups()[0].owner_id
    took = _timed(Client(emu.base_url, retry=False), "wall.get", {"owner_id": owner})
    assert 0.6 <= took < 1.2


def test_latency_draws_repeat_with_the_seed() -> None:
    from parser_pipeline.emulator.service import Latency

    config = LatencyConfig(0.2, 0.01, 0.3, slow_share=0.1, slow_factor=4, uplink_seconds=0.05)
    one, two = Latency(config), Latency(config)
    draws = [(one.uplink(), one.answer(n)) for n in range(50)]
    assert draws == [(two.uplink(), two.answer(n)) for n in range(50)]
    answers = [a / (0.2 + 0.01 * n) for n, (_, a) in enumerate(draws)]
    assert min(answers) >= 0.7
    assert max(answers) > 1.3  # some slow outliers
    assert all(0 <= u <= 0.05 for u, _ in draws)


# ---- steps that leave the counts unchanged ----------------------------------------


def test_a_pair_adds_and_deletes_without_moving_any_count(
    fresh_emu: Callable[..., Emulator],
) -> None:
    emu = fresh_emu(scenario="standard", seed=2)
    before = {(p["owner_id"], p["post_id"]): p for p in emu.truth()["posts"]}
    comments_before = {(c["owner_id"], c["comment_id"]) for c in emu.truth()["comments"]}
    change = emu.advance(pairs=3)
    after_truth = emu.truth()
    after = {(p["owner_id"], p["post_id"]): p for p in after_truth["posts"]}
    assert len(change["pairs"]) == 3
    for owner, post in change["pairs"]:
        assert after[(owner, post)]["comments_count"] == before[(owner, post)]["comments_count"]
        mine = {
            c["comment_id"]
            for c in after_truth["comments"]
            if (c["owner_id"], c["post_id"]) == (owner, post)
        }
        new = {cid for cid in mine if (owner, cid) not in comments_before}
        assert len(new) == 1  # one comment came...
        gone = [
            c
            for c in after_truth["comments"]
            if (c["owner_id"], c["post_id"]) == (owner, post) and c["is_deleted"]
        ]
        assert gone  # ...and one went
