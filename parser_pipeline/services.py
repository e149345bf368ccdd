"""Build the long-lived pieces (engine, VK client) from Settings, once per process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from parser_pipeline.errors import ConfigError, StorageError
from parser_pipeline.settings import Settings
from parser_pipeline.store.engine import check_connection, make_engine

# The VK client, Redis and Alembic are imported by the functions that use them, so a command
# that only reads the database starts without them (README "Start-up").
if TYPE_CHECKING:
    import redis
    from sqlalchemy import Engine

    from parser_pipeline.vk.client import VkClient


# migrations/versions/ beside the package (store/migrations.py runs them with Alembic).
_VERSIONS_DIR = Path(__file__).resolve().parents[1] / "migrations" / "versions"
# The `revision = "0006"` and `down_revision = "0005"` lines of a migration script.
_REVISION_LINE = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.*)$", re.MULTILINE)


def head_revision() -> str:
    """The newest migration, read from the scripts' revision lines without loading Alembic.

    Alembic imports every migration module to find the head; a command that only checks the
    schema before a query starts twice as fast without it. tests/unit/test_cli_startup.py
    checks that this equals Alembic's answer.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in _VERSIONS_DIR.glob("*.py"):
        for kind, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            ids = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if kind == "revision" else parents).update(ids)
    heads = revisions - parents
    if len(heads) != 1:
        from parser_pipeline.store import migrations

        return migrations.head_revision()
    return heads.pop()


def current_revision(engine: Engine) -> str | None:
    """The database's migration (Alembic's version table), None when it has none."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None  # no version table: an empty database
    return None if found is None else str(found)


def open_engine(settings: Settings, *, require_schema: bool = True) -> Engine:
    """An engine on a reachable database whose schema is at the newest migration."""
    engine = make_engine(settings.database_url)
    check_connection(engine)
    if require_schema:
        current = current_revision(engine)
        if current != head_revision():
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
    import redis

    client: redis.Redis[Any] = redis.Redis.from_url(settings.redis_url, socket_timeout=10)
    return client


def make_client(settings: Settings, **kwargs: Any) -> VkClient:
    if not settings.tokens():
        raise ConfigError(
            "VKPIPE_VK_TOKENS: no VK token configured; "
            "set VKPIPE_VK_TOKENS or VKPIPE_VK_TOKENS_FILE"
        )
    from parser_pipeline.vk.client import VkClient

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
    from parser_pipeline.vk.cache import RedisCache, VkCache

    try:
        VkCache(RedisCache(client), settings.vk_cache_ttl_seconds).invalidate_group(group_id)
    finally:
        client.close()
