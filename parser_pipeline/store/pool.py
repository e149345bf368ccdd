"""The call pool in the database: the VK calls crawl jobs need, and the posts they read.

Every VK call a crawl job needs is a `vk_calls` row (pending until store/batches.py packs it);
every post a job reads is a `crawl_reads` row, finished when its last call is answered.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from parser_pipeline.store.engine import for_update
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.schema import (
    CALL_FINAL_STATUSES,
    crawl_reads,
    vk_calls,
)
from parser_pipeline.store.writes import chunks

ReadKey = tuple[int, int, int]  # (job_id, owner_id, post_id)


@dataclass(frozen=True, slots=True)
class FinishedRead:
    """How one read ended: done, skipped (a permanent error) or failed."""

    key: ReadKey
    status: str
    comments: int = 0
    error: str | None = None


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


def pending_methods(connection: Connection, methods: Collection[str]) -> set[str]:
    """Of `methods`, those some pending call waits to make."""
    if not methods:
        return set()
    rows = connection.execute(
        select(vk_calls.c.method)
        .where(vk_calls.c.status == "pending", vk_calls.c.method.in_(list(methods)))
        .distinct()
    )
    return {str(m) for m in rows.scalars()}


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


# ---- reads ---------------------------------------------------------------------------------


def add_reads(connection: Connection, job_id: int, reads: Sequence[Mapping[str, Any]]) -> None:
    """Start reading posts: dicts with owner_id, post_id, comments_count, verify."""
    rows = [{**r, "job_id": job_id, "status": "reading"} for r in reads]
    for chunk in chunks(rows):
        connection.execute(insert(crawl_reads), list(chunk))


def lock_reads(connection: Connection, keys: Iterable[ReadKey]) -> dict[ReadKey, Row[Any]]:
    """The reads (job_id, owner_id, post_id), locked in key order so batches never deadlock
    (PostgreSQL locks the rows as the sorted scan returns them)."""
    wanted = sorted(set(keys))
    found: dict[ReadKey, Row[Any]] = {}
    r = crawl_reads.c
    for chunk in chunks(wanted, KEYS_PER_QUERY):
        query = select(crawl_reads).where(keys_in((r.job_id, r.owner_id, r.post_id), chunk))
        rows = connection.execute(
            for_update(connection, query.order_by(r.job_id, r.owner_id, r.post_id))
        )
        found.update({(row.job_id, row.owner_id, row.post_id): row for row in rows})
    return found


def read_modes(connection: Connection, keys: Iterable[ReadKey]) -> dict[ReadKey, bool]:
    """Whether each read (job_id, owner_id, post_id) re-reads every thread."""
    found: dict[ReadKey, bool] = {}
    r = crawl_reads.c
    for chunk in chunks(sorted(set(keys)), KEYS_PER_QUERY):
        rows = connection.execute(
            select(r.job_id, r.owner_id, r.post_id, r.verify).where(
                keys_in((r.job_id, r.owner_id, r.post_id), chunk)
            )
        )
        found.update({(row.job_id, row.owner_id, row.post_id): bool(row.verify) for row in rows})
    return found


def finish_reads(connection: Connection, finished: Sequence[FinishedRead]) -> None:
    """Record how reads ended, all in one statement."""
    if not finished:
        return
    r = crawl_reads.c
    connection.execute(
        update(crawl_reads)
        .where(
            r.job_id == bindparam("k_job"),
            r.owner_id == bindparam("k_owner"),
            r.post_id == bindparam("k_post"),
        )
        .values(status=bindparam("k_status"), comments=bindparam("k_comments"),
                error=bindparam("k_error")),
        [
            {"k_job": f.key[0], "k_owner": f.key[1], "k_post": f.key[2], "k_status": f.status,
             "k_comments": f.comments, "k_error": f.error}
            for f in finished
        ],
    )  # fmt: skip


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
