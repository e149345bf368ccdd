"""Cached VK answers about a group are dropped when the group is re-added, edited or removed."""

from __future__ import annotations

import redis
from sqlalchemy import Engine

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.emulator import EmulatorConfig, run_emulator
from parser_pipeline.services import forget_cached_group
from parser_pipeline.settings import load_settings
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.vk.cache import RedisCache, VkCache
from parser_pipeline.vk.client import VkClient

TOKEN = "cache-token-1"


def test_re_adding_a_group_asks_vk_again(engine: Engine) -> None:
    config = EmulatorConfig(scenario="small", seed=2, tokens=(TOKEN,), rate_limit_per_second=None)
    with run_emulator(config) as emu:
        client = VkClient.from_settings(load_settings(vk_api_url=emu.base_url, vk_tokens=TOKEN))
        name = sorted(emu.world.group_screen_names())[0]
        register_groups(engine, client, [(name, CrawlSettings())])
        emu.reset_stats()
        client.get_groups([name])  # answered from the cache
        assert emu.stats()["total_requests"] == 0
        register_groups(engine, client, [(name, CrawlSettings(priority=9))])
        asked = emu.stats()["requests_by_method"]
        client.close()
    assert asked.get("groups.getById") == 1


def test_forget_cached_group_clears_the_shared_cache(redis_url: str) -> None:
    settings = load_settings(redis_url=redis_url)
    client: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    cache = VkCache(RedisCache(client), ttl_seconds=600)
    cache.put_group({"id": 77, "screen_name": "seventy", "name": "G"}, "seventy")
    assert cache.get_group(77) is not None
    forget_cached_group(settings, 77)
    assert cache.get_group(77) is None
    assert cache.get_group("seventy") is None
    client.close()
