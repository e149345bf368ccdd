"""The Redis sliding-window limiter: shared across clients and processes, atomic, token-safe."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
import redis

from parser_pipeline.constants import REDIS_RATE_LIMIT_PREFIX
from parser_pipeline.emulator import EmulatorConfig, run_emulator
from parser_pipeline.errors import CoordinationError
from parser_pipeline.settings import load_settings
from parser_pipeline.vk.cache import RedisCache, VkCache
from parser_pipeline.vk.client import VkClient
from parser_pipeline.vk.rate_limit import (
    MARGIN_DECAY_SECONDS,
    MARGIN_STEP_SECONDS,
    PACING_SHARE,
    RedisRateLimiter,
)
from parser_pipeline.vk.tokens import token_id

pytestmark = pytest.mark.redis

SECRET = "SECRET-TOKEN-7f3e9a"


def test_slots_are_paced_and_windowed_on_a_fixed_clock(redis_client: redis.Redis[Any]) -> None:
    now = [1000.0]
    limiter = RedisRateLimiter(redis_client, 3, margin_seconds=0.05, clock=lambda: now[0])
    gap = 1.05 / 3
    assert limiter.try_acquire(["a"])[0] == "a"
    granted, wait = limiter.try_acquire(["a"])
    assert granted is None
    assert wait == pytest.approx(PACING_SHARE * gap, abs=1e-5)  # no burst
    assert limiter.try_acquire(["a", "b"])[0] == "b"
    grants = []
    for _ in range(12):
        now[0] += gap
        grants.append(limiter.try_acquire(["a"])[0])
    assert grants == ["a"] * 12  # one per gap: 3 per 1.05 s, the window's whole budget


def test_two_limiters_share_one_budget(redis_client: redis.Redis[Any], redis_url: str) -> None:
    now = [1000.0]
    first = RedisRateLimiter(redis_client, 3, clock=lambda: now[0])
    second = RedisRateLimiter(redis.Redis.from_url(redis_url), 3, clock=lambda: now[0])
    assert first.try_acquire(["t"])[0] == "t"
    assert second.try_acquire(["t"])[0] is None  # the other one's grant counts for it too
    now[0] += 0.36
    assert second.try_acquire(["t"])[0] == "t"
    assert first.try_acquire(["t"])[0] is None


def test_error_6_widens_the_margin_for_every_process(
    redis_client: redis.Redis[Any], redis_url: str
) -> None:
    first = RedisRateLimiter(redis_client, 3, margin_seconds=0.05)
    second = RedisRateLimiter(redis.Redis.from_url(redis_url), 3, margin_seconds=0.05)
    assert second.current_margin() == pytest.approx(0.05)
    assert first.widen() == pytest.approx(0.05 + MARGIN_STEP_SECONDS)
    assert second.current_margin() == pytest.approx(0.05 + MARGIN_STEP_SECONDS)
    second.try_acquire(["x"])  # a grant narrows it back a little
    assert first.current_margin() == pytest.approx(
        0.05 + MARGIN_STEP_SECONDS - MARGIN_DECAY_SECONDS
    )


def test_keys_name_the_token_id_never_the_token(redis_client: redis.Redis[Any]) -> None:
    limiter = RedisRateLimiter(redis_client, 3)
    limiter.acquire_any([token_id(SECRET)])
    limiter.widen()
    keys = sorted(k.decode() for k in redis_client.keys("*"))
    assert keys == sorted(
        [REDIS_RATE_LIMIT_PREFIX + "margin", REDIS_RATE_LIMIT_PREFIX + token_id(SECRET)]
    )
    assert all(redis_client.pttl(k) > 0 for k in keys)  # idle state expires by itself
    assert all(SECRET not in k for k in keys)


def _hammer(url: str, seconds: float, ready: Any, go: Any, out: Any) -> None:
    limiter = RedisRateLimiter(redis.Redis.from_url(url), 3)
    grants = []
    ready.put(True)
    go.wait()
    until = time.time() + seconds
    while time.time() < until:
        limiter.acquire_any(["shared"])
        grants.append(time.time())
    out.put(grants)


def test_processes_never_exceed_the_limit_together(redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_hammer, args=(redis_url, 3.0, ready, go, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    go.set()
    grants = sorted(g for _ in procs for g in out.get(timeout=30))
    for p in procs:
        p.join(timeout=10)
    # Counted, not timed: the window lives on the Redis server's clock, and a process may be
    # descheduled between its grant and its own timestamp, so client-side gaps prove nothing
    # on a loaded machine. Three processes hammering for 3 s may get at most 3 per second,
    # plus the one window already open when the run ends; without the shared limit they would
    # get thousands.
    assert len(grants) <= 3 * (3 + 1)
    assert len(grants) >= 3 * 3 * 0.8  # and the shared budget is used, not starved
    assert len(grants) >= 7  # 3/s over ~3 s: the limiter lets work through, too


def test_redis_down_is_a_coordination_error_naming_the_setting() -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, 3)
    with pytest.raises(CoordinationError, match="VKPIPE_REDIS_URL"):
        limiter.try_acquire(["a"])


def test_redis_cache_roundtrip_ttl_and_invalidation(redis_client: redis.Redis[Any]) -> None:
    cache = VkCache(RedisCache(redis_client), ttl_seconds=60)
    cache.put_group({"id": 7, "screen_name": "dogs"})
    cache.put_resolved("dogs", {"type": "group", "object_id": 7})
    assert cache.get_group("dogs") == {"id": 7, "screen_name": "dogs"}
    ttls = [redis_client.ttl(k) for k in redis_client.keys("*")]
    assert ttls
    assert all(0 < t <= 60 for t in ttls)
    cache.invalidate_group("dogs")
    assert redis_client.keys("*") == []


def test_redis_cache_down_is_a_miss() -> None:
    dead = redis.Redis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.2)
    cache = VkCache(RedisCache(dead), ttl_seconds=60)
    cache.put_resolved("x", [])
    assert cache.get_resolved("x") is None


def test_clients_in_threads_share_tokens_through_redis_on_a_strict_emulator(
    redis_client: redis.Redis[Any],
) -> None:
    tokens = ("shared-token-0001", "shared-token-0002")
    config = EmulatorConfig(scenario="small", seed=1, tokens=tokens, rate_limit_per_second=3)
    with run_emulator(config) as emu:
        settings = load_settings(
            vk_api_url=emu.base_url, vk_tokens=",".join(tokens), vk_rps_per_token=3
        )
        clients = [VkClient.from_settings(settings, redis=redis_client) for _ in range(3)]
        assert all(isinstance(c.limiter, RedisRateLimiter) for c in clients)

        def work(client: VkClient) -> None:
            for _ in range(5):
                client.call("utils.resolveScreenName", {"screen_name": "gorod_novosti"})

        threads = [threading.Thread(target=work, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        stats = emu.stats()
    assert stats["total_requests"] == 15
    assert stats["rate_limited"] == 0
    assert sum(c.counters.snapshot()["limiter_waits"] for c in clients) >= 1


def test_cache_is_shared_between_clients_through_redis(redis_client: redis.Redis[Any]) -> None:
    config = EmulatorConfig(scenario="small", seed=1, tokens=("tok-cache-0001",))
    with run_emulator(config) as emu:
        settings = load_settings(vk_api_url=emu.base_url, vk_tokens="tok-cache-0001")
        first, second = (VkClient.from_settings(settings, redis=redis_client) for _ in range(2))
        answer = first.resolve_screen_name("gorod_novosti")
        assert second.resolve_screen_name("gorod_novosti") == answer
        assert second.get_groups(["gorod_novosti"]) == first.get_groups([answer["object_id"]])
        assert emu.stats()["requests_by_method"] == {
            "utils.resolveScreenName": 1,
            "groups.getById": 1,
        }
        first.invalidate_group("gorod_novosti")
        second.get_groups(["gorod_novosti"])
        assert emu.stats()["requests_by_method"]["groups.getById"] == 2
