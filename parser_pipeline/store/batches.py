"""Fetch batches in the database: pack pending calls 25 to a batch, publish, claim, finish.

A batch is up to 25 pending VK calls of any jobs (one `execute`). Rows are claimed with `FOR
UPDATE SKIP LOCKED` on PostgreSQL, so any number of packers and workers share them; on SQLite
one process writes at a time and the clauses are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import BigInteger, Connection, bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql

from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.store.engine import for_update
from parser_pipeline.store.schema import BATCH_UNFINISHED_STATUSES, fetch_batches, vk_calls

# Batches published per packing pass at most; the rest wait for the next pass (seconds later).
MAX_BATCHES_PER_PASS: Final = 400
# Batches marked enqueued and sent per relay transaction. A worker that takes a message before
# its transaction commits waits for the row: with 500 per transaction the first batches of a
# big crawl sat for the 0.8 s it took to send the rest.
PUBLISH_PER_TRANSACTION: Final = 50
# Key of the PostgreSQL advisory lock that makes packers take turns (any constant works; this
# one spells "vkpack"), so two of them never both decide that nothing is in flight.
PACK_LOCK_KEY: Final = 0x766B7061636B


@dataclass(frozen=True, slots=True)
class BatchRef:
    """What goes on the broker: a batch id and its priority (its most urgent job's, 1..10)."""

    batch_id: int
    priority: int


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
    max_batches: int = MAX_BATCHES_PER_PASS,
) -> list[int]:
    """Pack pending calls into at most `max_batches` new batches of `max_calls`, highest
    priority first; their ids.

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
        .limit(max_batches * max_calls)
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
    if connection.dialect.name == "postgresql":
        return _make_batches_locked(connection, groups, now)
    return _make_batches(connection, groups, now)


def _batch_row(group: Sequence[Any], now: datetime) -> dict[str, Any]:
    """A new batch's row: pending, as urgent as its most urgent call."""
    return {
        "status": "pending",
        "priority": max(r.priority for r in group),
        "calls": len(group),
        "created_at": now,
        "updated_at": now,
    }


def _make_batches_locked(
    connection: Connection, groups: Sequence[Sequence[Any]], now: datetime
) -> list[int]:
    """PostgreSQL: the calls are ours (locked FOR UPDATE), so every batch gets all of its
    calls; two statements for any number of batches. (One INSERT and one UPDATE per batch made
    the first pack of a big crawl, hundreds of batches, take seconds while every other packer
    waited for the lock.)"""
    if not groups:
        return []
    ids = connection.execute(
        insert(fetch_batches).returning(fetch_batches.c.id, sort_by_parameter_order=True),
        [_batch_row(group, now) for group in groups],
    ).scalars()
    made = [int(batch_id) for batch_id in ids]
    call_ids = [r.id for group in groups for r in group]
    owners = [batch_id for batch_id, group in zip(made, groups, strict=True) for _ in group]
    assigned = (
        func.unnest(
            bindparam("call_ids", call_ids, type_=postgresql.ARRAY(BigInteger)),
            bindparam("batch_ids", owners, type_=postgresql.ARRAY(BigInteger)),
        )
        .table_valued("call_id", "batch_id")
        .render_derived(name="assigned")
    )
    connection.execute(
        update(vk_calls)
        .where(vk_calls.c.id == assigned.c.call_id)
        .values(status="batched", batch_id=assigned.c.batch_id, updated_at=now)
    )
    return made


def _make_batches(
    connection: Connection, groups: Sequence[Sequence[Any]], now: datetime
) -> list[int]:
    """SQLite: no row locks, so another packer may have taken some of the calls since they
    were read; each batch takes only those still pending (and is dropped when none are)."""
    made: list[int] = []
    for group in groups:
        batch_id = connection.execute(
            insert(fetch_batches).values(**_batch_row(group, now)).returning(fetch_batches.c.id)
        ).scalar_one()
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
    connection: Connection,
    publish: Callable[[BatchRef], None],
    now: datetime,
    limit: int = PUBLISH_PER_TRANSACTION,
) -> int:
    """Mark pending batches enqueued and send them to the broker, in one transaction (the
    outbox's relay): a crash before the commit leaves them pending, to be sent again, and a
    batch sent twice is absorbed by its claim.

    The UPDATE comes first so that two relays never send one batch: it takes the write lock on
    SQLite (a SELECT first would let both read the same pending rows) and skips rows another
    relay holds on PostgreSQL.
    """
    pending = (
        select(fetch_batches.c.id)
        .where(fetch_batches.c.status == "pending")
        .order_by(fetch_batches.c.priority.desc(), fetch_batches.c.id)
        .limit(limit)
    )
    rows = connection.execute(
        update(fetch_batches)
        .where(
            fetch_batches.c.id.in_(for_update(connection, pending, skip_locked=True)),
            fetch_batches.c.status == "pending",
        )
        .values(status="enqueued", updated_at=now)
        .returning(fetch_batches.c.id, fetch_batches.c.priority)
    ).all()
    refs = sorted(
        (BatchRef(r.id, r.priority) for r in rows), key=lambda r: (-r.priority, r.batch_id)
    )
    for ref in refs:
        publish(ref)
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


def unsettled_calls(connection: Connection, batch_id: int) -> set[int]:
    """The batch's calls still waiting for their answers, with the batch row locked first.

    A batch taken for lost while its first runner was still sending is run twice; both runs
    settle, one after the other (the lock), and the second finds its calls answered: it must
    store nothing and count nothing again, or follow-up calls and job counters double.
    """
    connection.execute(
        for_update(connection, select(fetch_batches.c.id).where(fetch_batches.c.id == batch_id))
    )
    rows = connection.execute(
        select(vk_calls.c.id).where(vk_calls.c.batch_id == batch_id, vk_calls.c.status == "batched")
    )
    return set(rows.scalars())


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
