"""Redis for the VK client's integration tests: db 15, flushed around each test; skip if absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from servicecheck import redis_url, service_missing

# A database no other part of vkpipe uses, so flushing it harms nobody.
TEST_REDIS_URL = os.environ.get("VKPIPE_TEST_REDIS_URL", redis_url("vk"))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis[Any]]:
    client: redis.Redis[Any] = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        service_missing(f"Redis at {TEST_REDIS_URL}", exc)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def redis_url(redis_client: redis.Redis[Any]) -> str:
    """The URL of the (reachable, flushed) test database, for clients built in other processes."""
    return TEST_REDIS_URL
