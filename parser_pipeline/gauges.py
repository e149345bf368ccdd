"""What /metrics reads when scraped: queue lengths, the oldest unfinished job, beat, workers,
the alert outbox."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import redis
from sqlalchemy import Engine, func, select

from parser_pipeline import heartbeats
from parser_pipeline.alerts.store import delivery_counts
from parser_pipeline.constants import ALL_QUEUES, BROKER_PRIORITY_SEP, BROKER_PRIORITY_STEPS
from parser_pipeline.settings import Settings
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs

# Seconds a scrape waits for Redis before it reports no queue lengths.
REDIS_TIMEOUT_SECONDS = 2.0


def broker_lists(queue: str) -> list[str]:
    """The Redis lists that hold one queue's messages, one per priority step."""
    return [
        queue if step == 0 else f"{queue}{BROKER_PRIORITY_SEP}{step}"
        for step in BROKER_PRIORITY_STEPS
    ]


def queue_lengths(broker_url: str | None) -> dict[str, int]:
    """Messages waiting per queue (LLEN of its lists in one round trip); {} without Redis."""
    if not broker_url or not broker_url.startswith(("redis://", "rediss://")):
        return {}
    client: redis.Redis = redis.Redis.from_url(  # type: ignore[type-arg]
        broker_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        pipe = client.pipeline(transaction=False)
        for queue in ALL_QUEUES:
            for key in broker_lists(queue):
                pipe.llen(key)
        lengths = iter(pipe.execute())
        return {q: sum(int(next(lengths)) for _ in BROKER_PRIORITY_STEPS) for q in ALL_QUEUES}
    except redis.RedisError:
        return {}
    finally:
        client.close()


def _age(moment: datetime | None, now: datetime) -> float | None:
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return max(0.0, (now - moment).total_seconds())


def oldest_unfinished_job_age(engine: Engine, now: datetime) -> float | None:
    """Seconds since the oldest queued or running crawl job was created; None when none is."""
    with engine.connect() as connection:
        oldest = connection.execute(
            select(func.min(crawl_jobs.c.created_at)).where(
                crawl_jobs.c.status.in_(UNFINISHED_JOB_STATUSES)
            )
        ).scalar()
    return _age(oldest, now)


def beat_age(engine: Engine, now: datetime) -> float | None:
    """Seconds since beat's last dispatcher pass; None before the first."""
    return _age(heartbeats.last_seen(engine, heartbeats.BEAT), now)


def workers_per_queue(engine: Engine, now: datetime) -> dict[str, int]:
    """Live workers (by heartbeat) consuming each queue, 0 for a queue nobody consumes."""
    counts = Counter(q for w in heartbeats.live_workers(engine, now) for q in w.queues)
    return {queue: counts.get(queue, 0) for queue in ALL_QUEUES}


def quota_remaining(settings: Settings, now: datetime) -> list[tuple[str, str, int]]:
    """(method, token's last four characters, calls left today) for every method with a daily
    quota; a method VK answered error 29 for counts 0."""
    from parser_pipeline.services import quota_report

    if not settings.vk_daily_quotas or not settings.tokens():
        return []
    report = quota_report(settings, now)
    return [
        (s.method, report.hints.get(s.token_id, s.token_id), s.remaining)
        for s in report.states
        if s.remaining is not None
    ]


def alert_deliveries(engine: Engine) -> dict[str, int]:
    """Alert deliveries per status (pending, delivered, dead)."""
    with engine.connect() as connection:
        return delivery_counts(connection)
