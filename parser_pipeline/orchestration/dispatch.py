"""The dispatcher: turn due groups and requested jobs into work items, and publish pending work.

It runs every few seconds (beat's `dispatch_due_groups`). Two dispatchers at once never start a
group twice: due groups are read with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and a partial unique
index allows one unfinished job per group whoever inserts it (`ON CONFLICT DO NOTHING`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, exists, or_, select, text, update

from parser_pipeline.orchestration.work import WorkRef, create_items, publish_pending
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs, vk_groups
from parser_pipeline.store.writes import upsert_insert

log = structlog.get_logger(__name__)

# Groups started and requested jobs taken per dispatcher pass; the rest wait seconds for the next.
DUE_GROUPS_PER_PASS = 200
REQUESTED_JOBS_PER_PASS = 200
UNFINISHED = ("queued", "running")


@dataclass(frozen=True, slots=True)
class DispatchResult:
    jobs_created: int
    jobs_dispatched: int
    published: int


def insert_job(
    connection: Connection,
    group_id: int,
    *,
    requested_by: str,
    priority: int,
    now: datetime,
    full_verify: bool = False,
) -> int | None:
    """Insert a queued crawl job unless the group has an unfinished one; its id, or None."""
    stmt = (
        upsert_insert(connection, crawl_jobs)
        .values(
            kind="crawl",
            group_id=group_id,
            status="queued",
            requested_by=requested_by,
            priority=priority,
            full_verify=full_verify,
            created_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["group_id"], index_where=text("status IN ('queued', 'running')")
        )
        .returning(crawl_jobs.c.id)
    )
    return connection.execute(stmt).scalar_one_or_none()


def _due_groups(connection: Connection, now: datetime) -> list[Any]:
    active_job = exists().where(
        crawl_jobs.c.group_id == vk_groups.c.id, crawl_jobs.c.status.in_(UNFINISHED)
    )
    query = (
        select(vk_groups.c.id, vk_groups.c.priority)
        .where(vk_groups.c.is_active)
        .where(or_(vk_groups.c.next_crawl_at.is_(None), vk_groups.c.next_crawl_at <= now))
        .where(~active_job)
        .order_by(vk_groups.c.priority.desc(), vk_groups.c.next_crawl_at.asc().nulls_first())
        .limit(DUE_GROUPS_PER_PASS)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(of=vk_groups, skip_locked=True)
    return list(connection.execute(query))


def create_due_jobs(engine: Engine, now: datetime) -> int:
    """A queued job (requested by beat) for every due active group without an unfinished job."""
    created = 0
    with transaction(engine) as connection:
        for group in _due_groups(connection, now):
            job_id = insert_job(
                connection, group.id, requested_by="beat", priority=group.priority, now=now
            )
            created += job_id is not None
    return created


def dispatch_requested_jobs(engine: Engine, now: datetime) -> int:
    """Give every queued, not yet dispatched job (beat, CLI, API alike) its first work item."""
    with transaction(engine) as connection:
        query = (
            select(crawl_jobs.c.id)
            .where(crawl_jobs.c.status == "queued", crawl_jobs.c.dispatched_at.is_(None))
            .order_by(crawl_jobs.c.priority.desc(), crawl_jobs.c.id)
            .limit(REQUESTED_JOBS_PER_PASS)
        )
        if connection.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        job_ids = list(connection.execute(query).scalars())
        for job_id in job_ids:
            create_items(connection, job_id, "wall", [None], now)
        if job_ids:
            connection.execute(
                update(crawl_jobs).where(crawl_jobs.c.id.in_(job_ids)).values(dispatched_at=now)
            )
    return len(job_ids)


def dispatch(engine: Engine, publish: Callable[[WorkRef], None], now: datetime) -> DispatchResult:
    """One dispatcher pass: due groups -> jobs -> work items -> broker."""
    created = create_due_jobs(engine, now)
    dispatched = dispatch_requested_jobs(engine, now)
    published = publish_all_pending(engine, publish, now)
    if created or dispatched or published:
        log.info(
            "dispatch.pass", jobs_created=created, jobs_dispatched=dispatched, published=published
        )
    return DispatchResult(created, dispatched, published)


def publish_all_pending(engine: Engine, publish: Callable[[WorkRef], None], now: datetime) -> int:
    """Publish pending items until none is left (each batch in its own transaction)."""
    total = 0
    while True:
        with transaction(engine) as connection:
            sent = publish_pending(connection, publish, now)
        total += sent
        if sent == 0:
            return total
