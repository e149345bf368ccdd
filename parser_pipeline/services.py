"""Build the long-lived pieces (engine, VK client) from Settings, once per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from sqlalchemy import Engine

from parser_pipeline.errors import ConfigError, StorageError
from parser_pipeline.settings import Settings
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import check_connection, make_engine
from parser_pipeline.vk.cache import RedisCache, VkCache
from parser_pipeline.vk.client import VkClient


def open_engine(settings: Settings, *, require_schema: bool = True) -> Engine:
    """An engine on a reachable database whose schema is at the newest migration."""
    engine = make_engine(settings.database_url)
    check_connection(engine)
    if require_schema:
        current = migrations.current_revision(settings.database_url)
        if current != migrations.head_revision():
            engine.dispose()
            state = "empty" if current is None else f"at revision {current}"
            raise StorageError(
                f"database {settings.database_url_for_display} is {state}; "
                "run `vkpipe db upgrade` first"
            )
    return engine


def open_redis(settings: Settings) -> redis.Redis[Any] | None:
    if settings.redis_url is None:
        return None
    client: redis.Redis[Any] = redis.Redis.from_url(settings.redis_url, socket_timeout=10)
    return client


def make_client(settings: Settings, **kwargs: Any) -> VkClient:
    if not settings.tokens():
        raise ConfigError(
            "VKPIPE_VK_TOKENS: no VK token configured; "
            "set VKPIPE_VK_TOKENS or VKPIPE_VK_TOKENS_FILE"
        )
    return VkClient.from_settings(settings, redis=open_redis(settings), **kwargs)


@contextmanager
def vk_client(settings: Settings, **kwargs: Any) -> Iterator[VkClient]:
    client = make_client(settings, **kwargs)
    try:
        yield client
    finally:
        client.close()


def forget_cached_group(settings: Settings, group_id: int) -> None:
    """Drop the shared cache's VK answers about a group that was just edited or removed.

    Only the Redis cache is shared between processes; an in-process cache ends with its process.
    """
    client = open_redis(settings)
    if client is None:
        return
    try:
        VkCache(RedisCache(client), settings.vk_cache_ttl_seconds).invalidate_group(group_id)
    finally:
        client.close()
