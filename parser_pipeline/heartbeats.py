"""Heartbeats in the database: beat's dispatcher passes and each live worker with its queues.

PostgreSQL already knows what work is unfinished; it also knows who is alive, so health checks
and /metrics answer with one indexed read and never need to talk to Celery.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, delete, select

from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import service_heartbeats
from parser_pipeline.store.writes import upsert_insert

# How often a worker writes its heartbeat: one small upsert per worker, so a dead worker is
# noticed within WORKER_MISSED_BEATS of these.
WORKER_HEARTBEAT_SECONDS: Final = 10.0
# A worker that missed this many heartbeats is gone (killed, frozen, or cut off the database).
WORKER_MISSED_BEATS: Final = 3
WORKER_PREFIX: Final = "worker:"
BEAT: Final = "beat"
# service_heartbeats.name is VARCHAR(64): longer node names keep a prefix and a hash.
_NAME_MAX: Final = 64


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    """One live worker as it last described itself."""

    node: str
    queues: tuple[str, ...]
    pool: str
    concurrency: int | None
    metrics_dir: str | None
    seen_at: datetime


def worker_key(node: str) -> str:
    key = f"{WORKER_PREFIX}{node}"
    if len(key) <= _NAME_MAX:
        return key
    digest = hashlib.sha256(node.encode()).hexdigest()[:12]
    return f"{key[: _NAME_MAX - len(digest) - 1]}~{digest}"


def record_heartbeat(engine: Engine, name: str, now: datetime, details: Any = None) -> None:
    """Note that a service is alive (beat's dispatcher pass, a worker) at `now`."""
    with transaction(engine) as connection:
        stmt = upsert_insert(connection, service_heartbeats).values(
            name=name, last_seen_at=now, details=details
        )
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"last_seen_at": stmt.excluded.last_seen_at, "details": stmt.excluded.details},
            )
        )


def record_worker(engine: Engine, node: str, details: Mapping[str, Any], now: datetime) -> None:
    record_heartbeat(engine, worker_key(node), now, {"node": node, **details})


def forget_worker(engine: Engine, node: str) -> None:
    """A worker that shuts down warm leaves at once instead of ageing out."""
    with transaction(engine) as connection:
        connection.execute(
            delete(service_heartbeats).where(service_heartbeats.c.name == worker_key(node))
        )


def last_seen(engine: Engine, name: str) -> datetime | None:
    with engine.connect() as connection:
        seen: datetime | None = connection.execute(
            select(service_heartbeats.c.last_seen_at).where(service_heartbeats.c.name == name)
        ).scalar_one_or_none()
    return seen


def live_workers(engine: Engine, now: datetime) -> list[WorkerBeat]:
    """Workers whose last heartbeat is recent enough, by node name."""
    oldest = now.timestamp() - WORKER_MISSED_BEATS * WORKER_HEARTBEAT_SECONDS
    with engine.connect() as connection:
        rows = connection.execute(
            select(service_heartbeats.c.last_seen_at, service_heartbeats.c.details).where(
                service_heartbeats.c.name.startswith(WORKER_PREFIX)
            )
        ).all()
    found: list[WorkerBeat] = []
    for seen_at, details in rows:
        if seen_at.timestamp() < oldest or not isinstance(details, dict):
            continue
        found.append(
            WorkerBeat(
                node=str(details.get("node", "?")),
                queues=tuple(details.get("queues") or ()),
                pool=str(details.get("pool", "?")),
                concurrency=details.get("concurrency"),
                metrics_dir=details.get("metrics_dir"),
                seen_at=seen_at,
            )
        )
    return sorted(found, key=lambda w: w.node)
