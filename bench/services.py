"""The Redis the benchmarks use: VKPIPE_BENCH_REDIS_URL (default redis://127.0.0.1:6379)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import redis

REDIS_URL_DEFAULT = "redis://127.0.0.1:6379"


def redis_url(db: int) -> str:
    """Database `db` of the benchmarks' Redis server."""
    base = os.environ.get("VKPIPE_BENCH_REDIS_URL", REDIS_URL_DEFAULT).rstrip("/")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db}"


@contextmanager
def flushed_redis(db: int) -> Iterator[str]:
    """Database `db`'s URL, the database emptied before and after (it is the benchmark's own)."""
    url = redis_url(db)
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    try:
        yield url
    finally:
        conn.flushdb()
        conn.close()
