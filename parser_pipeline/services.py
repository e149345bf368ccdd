"""Build the long-lived pieces (engine, VK client, quota report) from Settings, once per process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
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
    from parser_pipeline.vk.quota import QuotaState


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


@dataclass(frozen=True, slots=True)
class QuotaReport:
    """Today's standing of every token's daily quotas, for the doctor and /metrics."""

    states: list[QuotaState]
    hints: dict[str, str]  # token id -> its last four characters
    ends: datetime  # when the quota day ends

    def spent_lines(self) -> list[str]:
        from parser_pipeline.vk.quota import describe_spent

        return describe_spent(self.states, self.hints, self.ends)


def quota_report(settings: Settings, now: datetime | None = None) -> QuotaReport:
    """What each token spent today: from Redis (a fleet), or from the database (one process)."""
    from parser_pipeline.store.quota import load_usage
    from parser_pipeline.vk.quota import LocalQuotaLedger, QuotaClock, RedisQuotaLedger
    from parser_pipeline.vk.tokens import token_hint, token_id

    now = now or datetime.now(UTC)
    tokens = [t.get_secret_value() for t in settings.tokens()]
    ids = [token_id(t) for t in tokens]
    hints = {token_id(t): token_hint(t) for t in tokens}
    clock = QuotaClock(settings.vk_quota_reset, settings.vk_quota_timezone)
    day, ends = clock.day(now)
    client = open_redis(settings)
    if client is not None:
        try:
            states = RedisQuotaLedger(client, settings.vk_daily_quotas, clock).states(ids, now)
        finally:
            client.close()
        return QuotaReport(states, hints, ends)
    ledger = LocalQuotaLedger(settings.vk_daily_quotas, clock)
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            ledger.load(day, load_usage(connection, day))
    finally:
        engine.dispose()
    return QuotaReport(ledger.states(ids, now), hints, ends)
