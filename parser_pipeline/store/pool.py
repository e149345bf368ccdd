"""The call pool in the database: VK calls waiting, packed into fetch batches, and post reads.

Every VK call a crawl job needs is a `vk_calls` row; up to 25 pending calls of any jobs are
packed into one `fetch_batches` row (one `execute`). Rows are claimed with `FOR UPDATE SKIP
LOCKED` on PostgreSQL, so any number of packers and workers share the pool; on SQLite one
process writes at a time and the clauses are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.store.engine import for_update
from parser_pipeline.store.schema import (
    BATCH_UNFINISHED_STATUSES,
    CALL_FINAL_STATUSES,
    crawl_reads,
    fetch_batches,
    vk_calls,
)
from parser_pipeline.store.writes import chunks

# Batches published per packing pass at most; the rest wait for the next pass (seconds later).
MAX_BATCHES_PER_PASS: Final = 400
# Key of the PostgreSQL advisory lock that makes packers take turns (any constant works; this
# one spells "vkpack"), so two of them never both decide that nothing is in flight.
PACK_LOCK_KEY: Final = 0x766B7061636B


@dataclass(frozen=True, slots=True)
class BatchRef:
    """What goes on the broker: a batch id and its priority (its most urgent job's, 1..10)."""

    batch_id: int
    priority: int


# ---- calls ---------------------------------------------------------------------------------


def add_calls(connection: Connection, rows: Sequence[Mapping[str, Any]], now: datetime) -> None:
    """Store pending calls: dicts with job_id, kind, method, owner_id, post_id, params, priority."""
    if not rows:
        return
    values = [{**row, "status": "pending", "created_at": now, "updated_at": now} for row in rows]
    for chunk in chunks(values):
        connection.execute(insert(vk_calls), list(chunk))


def calls_of_batch(connection: Connection, batch_id: int) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(vk_calls)
            .where(vk_calls.c.batch_id == batch_id, vk_calls.c.status == "batched")
            .order_by(vk_calls.c.id)
        )
    )


def settle_calls(
    connection: Connection, updates: Sequence[Mapping[str, Any]], now: datetime
) -> None:
    """Record answered calls: dicts with id, status (done/failed/pending), result, error, share.

    A call put back to `pending` (a daily quota ran out) leaves its batch and keeps its place.
    """
    if not updates:
        return
    stmt = (
        update(vk_calls)
        .where(vk_calls.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            result=bindparam("b_result"),
            error=bindparam("b_error"),
            request_share=vk_calls.c.request_share + bindparam("b_share"),
            attempts=vk_calls.c.attempts + bindparam("b_attempt"),
            batch_id=bindparam("b_batch"),
            updated_at=now,
        )
    )
    rows = [
        {
            "b_id": u["id"],
            "b_status": u["status"],
            "b_result": u.get("result"),
            "b_error": u.get("error"),
            "b_share": float(u.get("share", 0.0)),
            "b_attempt": 0 if u["status"] == "pending" else 1,
            "b_batch": None if u["status"] == "pending" else u.get("batch_id"),
        }
        for u in updates
    ]
    connection.execute(stmt, rows)


def unfinished_calls(
    connection: Connection, job_id: int, kinds: Collection[str] | None = None
) -> int:
    query = (
        select(func.count())
        .select_from(vk_calls)
        .where(vk_calls.c.job_id == job_id, vk_calls.c.status.not_in(CALL_FINAL_STATUSES))
    )
    if kinds is not None:
        query = query.where(vk_calls.c.kind.in_(list(kinds)))
    return int(connection.execute(query).scalar_one())


def job_calls(
    connection: Connection, job_id: int, kinds: Collection[str], status: str | None = None
) -> list[Row[Any]]:
    query = select(vk_calls).where(vk_calls.c.job_id == job_id, vk_calls.c.kind.in_(list(kinds)))
    if status is not None:
        query = query.where(vk_calls.c.status == status)
    return list(connection.execute(query.order_by(vk_calls.c.id)))


def post_calls(connection: Connection, job_id: int, owner_id: int, post_id: int) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(vk_calls).where(
                vk_calls.c.job_id == job_id,
                vk_calls.c.owner_id == owner_id,
                vk_calls.c.post_id == post_id,
            )
        )
    )


def request_shares(connection: Connection, job_id: int) -> tuple[float, dict[str, int]]:
    """The requests a job's calls took (their shares summed) and its answered calls by method."""
    rows = connection.execute(
        select(vk_calls.c.method, func.count(), func.sum(vk_calls.c.request_share))
        .where(vk_calls.c.job_id == job_id, vk_calls.c.status.in_(CALL_FINAL_STATUSES))
        .group_by(vk_calls.c.method)
    ).all()
    return float(sum(r[2] or 0.0 for r in rows)), {str(r[0]): int(r[1]) for r in rows}


def drop_calls(connection: Connection, job_id: int, *, pending_only: bool = False) -> int:
    """Delete a job's calls (all, when it ends; pending ones, when it is cancelled)."""
    stmt = delete(vk_calls).where(vk_calls.c.job_id == job_id)
    if pending_only:
        stmt = stmt.where(vk_calls.c.status == "pending")
    return int(connection.execute(stmt).rowcount)


# ---- batches -------------------------------------------------------------------------------


def _in_flight(connection: Connection) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(fetch_batches)
            .where(fetch_batches.c.status.in_(BATCH_UNFINISHED_STATUSES))
        ).scalar_one()
    )


def pack(
    connection: Connection,
    now: datetime,
    *,
    blocked_methods: Collection[str] = (),
    gather: timedelta = timedelta(seconds=1),
    max_calls: int = VK_EXECUTE_MAX_CALLS,
) -> list[int]:
    """Pack pending calls into new batches of `max_calls`, highest priority first; their ids.

    A full batch goes at once. The rest, fewer than `max_calls`, go as a partial batch only
    when no batch is in flight (nothing can add to them) or the oldest of them has waited
    `gather`: while batches are out, their follow-up calls usually fill the next one. Calls of
    `blocked_methods` (a daily quota spent on every token) stay pending.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PACK_LOCK_KEY})
    query = (
        select(vk_calls.c.id, vk_calls.c.priority, vk_calls.c.created_at)
        .where(vk_calls.c.status == "pending")
        .order_by(vk_calls.c.priority.desc(), vk_calls.c.id)
        .limit(MAX_BATCHES_PER_PASS * max_calls)
    )
    if blocked_methods:
        query = query.where(vk_calls.c.method.not_in(list(blocked_methods)))
    pending = list(connection.execute(for_update(connection, query, skip_locked=True)))
    if not pending:
        return []
    full = len(pending) // max_calls * max_calls
    groups = [pending[i : i + max_calls] for i in range(0, full, max_calls)]
    rest = pending[full:]
    if rest and (
        (_in_flight(connection) == 0 and not groups)
        or min(r.created_at for r in rest) <= now - gather
    ):
        groups.append(rest)
    made: list[int] = []
    for group in groups:
        batch_id = connection.execute(
            insert(fetch_batches)
            .values(
                status="pending",
                priority=max(r.priority for r in group),
                calls=len(group),
                created_at=now,
                updated_at=now,
            )
            .returning(fetch_batches.c.id)
        ).scalar_one()
        # Only calls still pending: without row locks (SQLite) another packer may have taken
        # some since they were read.
        taken = connection.execute(
            update(vk_calls)
            .where(vk_calls.c.id.in_([r.id for r in group]), vk_calls.c.status == "pending")
            .values(status="batched", batch_id=batch_id, updated_at=now)
        ).rowcount
        if taken == 0:
            connection.execute(delete(fetch_batches).where(fetch_batches.c.id == batch_id))
            continue
        if taken != len(group):
            connection.execute(
                update(fetch_batches).where(fetch_batches.c.id == batch_id).values(calls=taken)
            )
        made.append(int(batch_id))
    return made


def in_flight(connection: Connection) -> int:
    """Batches written, published or running."""
    return _in_flight(connection)


def publish_pending(
    connection: Connection, publish: Callable[[BatchRef], None], now: datetime, limit: int = 500
) -> int:
    """Send pending batches to the broker, then mark them enqueued (the outbox's relay).

    A crash between sending and committing only sends a batch twice; its claim absorbs that.
    """
    query = (
        select(fetch_batches.c.id, fetch_batches.c.priority)
        .where(fetch_batches.c.status == "pending")
        .order_by(fetch_batches.c.priority.desc(), fetch_batches.c.id)
        .limit(limit)
    )
    refs = [
        BatchRef(r.id, r.priority)
        for r in connection.execute(for_update(connection, query, skip_locked=True))
    ]
    for ref in refs:
        publish(ref)
    if refs:
        connection.execute(
            update(fetch_batches)
            .where(fetch_batches.c.id.in_([r.batch_id for r in refs]))
            .where(fetch_batches.c.status == "pending")
            .values(status="enqueued", updated_at=now)
        )
    return len(refs)


def claim_batch(
    connection: Connection,
    batch_id: int,
    now: datetime,
    lost_after: timedelta,
    claimer: str | None = None,
) -> bool:
    """Take a batch to run it; False when it is final or held by a live runner.

    A retry of the same task (the same `claimer`) takes it back; a second message for it finds
    it running or done, and leaves it.
    """
    running = fetch_batches.c.status == "running"
    claimable = fetch_batches.c.status.in_(("pending", "enqueued")) | (
        running & (fetch_batches.c.updated_at < now - lost_after)
    )
    if claimer is not None:
        claimable = claimable | (running & (fetch_batches.c.claimed_by == claimer))
    result = connection.execute(
        update(fetch_batches)
        .where(fetch_batches.c.id == batch_id, claimable)
        .values(
            status="running",
            attempts=fetch_batches.c.attempts + 1,
            claimed_by=claimer,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def finish_batch(
    connection: Connection, batch_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    connection.execute(
        update(fetch_batches)
        .where(fetch_batches.c.id == batch_id)
        .values(status=status, error=error, updated_at=now, finished_at=now)
    )


def requeue_lost_batches(
    connection: Connection, now: datetime, lost_after: timedelta, max_attempts: int
) -> tuple[list[int], list[int]]:
    """Batches enqueued or running untouched for `lost_after`: back to pending, or given up
    after `max_attempts` (returned second: their calls fail). Returns (requeued, given up)."""
    lost = fetch_batches.c.status.in_(("enqueued", "running")) & (
        fetch_batches.c.updated_at < now - lost_after
    )
    rows = list(
        connection.execute(
            for_update(connection, select(fetch_batches.c.id, fetch_batches.c.attempts).where(lost))
        )
    )
    given_up = [r.id for r in rows if r.attempts >= max_attempts]
    requeued = [r.id for r in rows if r.attempts < max_attempts]
    if requeued:
        connection.execute(
            update(fetch_batches)
            .where(fetch_batches.c.id.in_(requeued))
            .values(status="pending", updated_at=now)
        )
    return requeued, given_up


def forget_finished_batches(connection: Connection, before: datetime) -> int:
    """Delete finished batches older than `before` (their calls are gone or kept apart)."""
    return int(
        connection.execute(
            delete(fetch_batches)
            .where(fetch_batches.c.status.in_(("done", "failed")))
            .where(fetch_batches.c.finished_at < before)
        ).rowcount
    )


# ---- reads ---------------------------------------------------------------------------------


def add_reads(connection: Connection, job_id: int, reads: Sequence[Mapping[str, Any]]) -> None:
    """Start reading posts: dicts with owner_id, post_id, comments_count, verify."""
    rows = [{**r, "job_id": job_id, "status": "reading"} for r in reads]
    for chunk in chunks(rows):
        connection.execute(insert(crawl_reads), list(chunk))


def lock_reads(
    connection: Connection, keys: Iterable[tuple[int, int, int]]
) -> dict[tuple[int, int, int], Row[Any]]:
    """The reads (job_id, owner_id, post_id), locked in key order so batches never deadlock."""
    found: dict[tuple[int, int, int], Row[Any]] = {}
    for job_id, owner_id, post_id in sorted(set(keys)):
        row = connection.execute(
            for_update(
                connection,
                select(crawl_reads).where(
                    crawl_reads.c.job_id == job_id,
                    crawl_reads.c.owner_id == owner_id,
                    crawl_reads.c.post_id == post_id,
                ),
            )
        ).first()
        if row is not None:
            found[(job_id, owner_id, post_id)] = row
    return found


def read_modes(
    connection: Connection, keys: Iterable[tuple[int, int, int]]
) -> dict[tuple[int, int, int], bool]:
    """Whether each read (job_id, owner_id, post_id) re-reads every thread."""
    wanted = set(keys)
    found: dict[tuple[int, int, int], bool] = {}
    for job_id in {k[0] for k in wanted}:
        rows = connection.execute(
            select(crawl_reads.c.owner_id, crawl_reads.c.post_id, crawl_reads.c.verify).where(
                crawl_reads.c.job_id == job_id
            )
        )
        for r in rows:
            key = (job_id, r.owner_id, r.post_id)
            if key in wanted:
                found[key] = bool(r.verify)
    return found


def finish_read(
    connection: Connection,
    key: tuple[int, int, int],
    status: str,
    *,
    comments: int = 0,
    error: str | None = None,
) -> None:
    job_id, owner_id, post_id = key
    connection.execute(
        update(crawl_reads)
        .where(
            crawl_reads.c.job_id == job_id,
            crawl_reads.c.owner_id == owner_id,
            crawl_reads.c.post_id == post_id,
        )
        .values(status=status, comments=comments, error=error)
    )


def job_reads(connection: Connection, job_id: int, status: str | None = None) -> list[Row[Any]]:
    query = select(crawl_reads).where(crawl_reads.c.job_id == job_id)
    if status is not None:
        query = query.where(crawl_reads.c.status == status)
    return list(connection.execute(query.order_by(crawl_reads.c.owner_id, crawl_reads.c.post_id)))


def read_counts(connection: Connection, job_id: int) -> dict[str, int]:
    """How many of a job's reads are in each status."""
    rows = connection.execute(
        select(crawl_reads.c.status, func.count())
        .where(crawl_reads.c.job_id == job_id)
        .group_by(crawl_reads.c.status)
    )
    return {str(status): int(count) for status, count in rows}


def skip_reading(connection: Connection, job_id: int, error: str) -> int:
    """Cancel: reads not finished are skipped."""
    return int(
        connection.execute(
            update(crawl_reads)
            .where(crawl_reads.c.job_id == job_id, crawl_reads.c.status == "reading")
            .values(status="skipped", error=error)
        ).rowcount
    )
