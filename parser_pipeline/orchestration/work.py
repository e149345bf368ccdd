"""Work items in the database: create, publish (outbox), claim, heartbeat, finish, close jobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from parser_pipeline.store.schema import WORK_FINAL_STATUSES, crawl_jobs, work_items
from parser_pipeline.store.writes import upsert_insert

# How many pending items one dispatcher pass publishes; the rest wait for the next pass.
PUBLISH_BATCH = 500
# Celery's Redis transport serves priority 0 first; a group's priority 10 is the most urgent.
HIGHEST_GROUP_PRIORITY = 10


@dataclass(frozen=True, slots=True)
class WorkRef:
    """What goes on the broker: an item id, its kind (the task) and its broker priority."""

    item_id: int
    kind: str
    priority: int


def broker_priority(group_priority: int) -> int:
    """Map a group's 1 (low) .. 10 (high) onto Celery's Redis 9 (low) .. 0 (high)."""
    return max(0, min(9, HIGHEST_GROUP_PRIORITY - group_priority))


def create_items(
    connection: Connection, job_id: int, kind: str, payloads: Sequence[Any], now: datetime
) -> None:
    """Create a job's items idempotently: a retried stage creates no second copy."""
    if not payloads:
        return
    rows = [
        {"job_id": job_id, "kind": kind, "seq": seq, "payload": payload, "status": "pending",
         "created_at": now, "updated_at": now}
        for seq, payload in enumerate(payloads)
    ]  # fmt: skip
    stmt = upsert_insert(connection, work_items).on_conflict_do_nothing(
        index_elements=["job_id", "kind", "seq"]
    )
    connection.execute(stmt, rows)


def publish_pending(
    connection: Connection, publish: Callable[[WorkRef], None], now: datetime
) -> int:
    """Send pending items to the broker, then mark them enqueued (the outbox's relay).

    Rows are locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL) so two dispatchers never send the
    same item; a crash between sending and committing only sends an item twice, which the
    idempotent stages absorb.
    """
    query = (
        select(work_items.c.id, work_items.c.kind, crawl_jobs.c.priority)
        .join(crawl_jobs, crawl_jobs.c.id == work_items.c.job_id)
        .where(work_items.c.status == "pending")
        .order_by(crawl_jobs.c.priority.desc(), work_items.c.id)
        .limit(PUBLISH_BATCH)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=work_items, skip_locked=True)
    refs = [WorkRef(r.id, r.kind, broker_priority(r.priority)) for r in connection.execute(query)]
    for ref in refs:
        publish(ref)
    if refs:
        connection.execute(
            update(work_items)
            .where(work_items.c.id.in_([r.item_id for r in refs]))
            .where(work_items.c.status == "pending")
            .values(status="enqueued", updated_at=now)
        )
    return len(refs)


def claim_item(
    connection: Connection,
    item_id: int,
    now: datetime,
    lost_after: timedelta,
    claimer: str | None = None,
) -> Row[Any] | None:
    """Take an item for this task; None when it is final, cancelled or held by a live worker.

    A retry of the same task (same `claimer`, Celery keeps the task id) takes it back; another
    message for it (published twice) finds it running or final, and returns.
    """
    stale = now - lost_after
    running = work_items.c.status == "running"
    claimable = work_items.c.status.in_(("pending", "enqueued")) | (
        running & (work_items.c.updated_at < stale)
    )
    if claimer is not None:
        claimable = claimable | (running & (work_items.c.claimed_by == claimer))
    result = connection.execute(
        update(work_items)
        .where(work_items.c.id == item_id)
        .where(claimable)
        .values(
            status="running",
            attempts=work_items.c.attempts + 1,
            updated_at=now,
            claimed_by=claimer,
        )
    )
    if result.rowcount != 1:
        return None
    return connection.execute(select(work_items).where(work_items.c.id == item_id)).one()


def touch_item(connection: Connection, item_id: int, now: datetime) -> None:
    """Heartbeat: a running item whose worker is alive is never taken for lost."""
    connection.execute(
        update(work_items)
        .where(work_items.c.id == item_id, work_items.c.status == "running")
        .values(updated_at=now)
    )


def finish_item(
    connection: Connection,
    item_id: int,
    status: str,
    now: datetime,
    *,
    error: str | None = None,
    result: Any = None,
) -> None:
    connection.execute(
        update(work_items)
        .where(work_items.c.id == item_id)
        .values(status=status, error=error, result=result, updated_at=now, finished_at=now)
    )


def lock_job(connection: Connection, job_id: int) -> Row[Any] | None:
    """The job row, locked so that concurrent item completions decide its end one at a time."""
    query = select(crawl_jobs).where(crawl_jobs.c.id == job_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    return connection.execute(query).first()


def unfinished_items(connection: Connection, job_id: int) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(work_items)
            .where(work_items.c.job_id == job_id)
            .where(work_items.c.status.not_in(WORK_FINAL_STATUSES))
        ).scalar_one()
    )


def job_items(connection: Connection, job_id: int) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(work_items).where(work_items.c.job_id == job_id).order_by(work_items.c.id)
        )
    )


def skip_unfinished(connection: Connection, job_id: int, now: datetime) -> int:
    """Cancel: items not yet running are skipped; running ones finish their batch."""
    result = connection.execute(
        update(work_items)
        .where(work_items.c.job_id == job_id)
        .where(work_items.c.status.in_(("pending", "enqueued")))
        .values(status="skipped", error="job cancelled", updated_at=now, finished_at=now)
    )
    return int(result.rowcount)
