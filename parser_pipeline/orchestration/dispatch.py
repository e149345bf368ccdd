"""The dispatcher: turn due groups and requested jobs into calls, pack them, publish the batches.

It runs every few seconds (beat's `dispatch_due_groups`). Two dispatchers at once never start a
group twice: due groups are read with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and a partial unique
index allows one unfinished job per group whoever inserts it (`ON CONFLICT DO NOTHING`). Jobs
started in one pass share their first batches: every due group's first wall page goes out in
one execute.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, exists, or_, select

from parser_pipeline.crawl import engine as crawl_engine
from parser_pipeline.crawl.jobs import CrawlPolicy
from parser_pipeline.store import batches, pool
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store.batches import BatchRef
from parser_pipeline.store.engine import for_update, transaction
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs, vk_groups

log = structlog.get_logger(__name__)

# Groups started and requested jobs taken per dispatcher pass; the rest wait seconds for the next.
DUE_GROUPS_PER_PASS = 200
REQUESTED_JOBS_PER_PASS = 200
# Who carries the jobs the dispatcher starts (crawl_jobs.runner).
FLEET = "fleet"


@dataclass(frozen=True, slots=True)
class DispatchResult:
    jobs_created: int
    jobs_started: int
    batches_packed: int
    published: int


def _due_groups(connection: Connection, now: datetime) -> list[Any]:
    active_job = exists().where(
        crawl_jobs.c.group_id == vk_groups.c.id, crawl_jobs.c.status.in_(UNFINISHED_JOB_STATUSES)
    )
    query = (
        select(vk_groups.c.id, vk_groups.c.priority)
        .where(vk_groups.c.is_active)
        .where(or_(vk_groups.c.next_crawl_at.is_(None), vk_groups.c.next_crawl_at <= now))
        .where(~active_job)
        .order_by(vk_groups.c.priority.desc(), vk_groups.c.next_crawl_at.asc().nulls_first())
        .limit(DUE_GROUPS_PER_PASS)
    )
    return list(connection.execute(for_update(connection, query, of=vk_groups, skip_locked=True)))


def create_due_jobs(engine: Engine, now: datetime) -> int:
    """A queued job (requested by beat) for every due active group without an unfinished job."""
    created = 0
    with transaction(engine) as connection:
        for group in _due_groups(connection, now):
            job_id = job_store.insert_job(
                connection, group.id, requested_by="beat", priority=group.priority, now=now
            )
            created += job_id is not None
    return created


def requested_jobs(engine: Engine) -> list[int]:
    """Queued jobs (beat, CLI, API alike) nobody has started, most urgent first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(crawl_jobs.c.id)
            .where(crawl_jobs.c.status == "queued")
            .order_by(crawl_jobs.c.priority.desc(), crawl_jobs.c.id)
            .limit(REQUESTED_JOBS_PER_PASS)
        ).scalars()
        return [int(r) for r in rows]


def publish_all_pending(engine: Engine, publish: Callable[[BatchRef], None], now: datetime) -> int:
    """Publish pending batches until none is left (each slice in its own transaction)."""
    total = 0
    while True:
        with transaction(engine) as connection:
            sent = batches.publish_pending(connection, publish, now)
        total += sent
        if sent == 0:
            return total


def waiting_for_quota(engine: Engine, blocked: Mapping[str, datetime]) -> dict[str, datetime]:
    """Of the methods spent on every token, those that pending calls wait for."""
    with engine.connect() as connection:
        return {m: blocked[m] for m in pool.pending_methods(connection, blocked)}


def dispatch(
    engine: Engine,
    publish: Callable[[BatchRef], None],
    now: datetime,
    policy: CrawlPolicy,
    *,
    blocked: Collection[str] = (),
    gather: timedelta = timedelta(seconds=1),
) -> DispatchResult:
    """One dispatcher pass: due groups -> jobs -> their first calls -> batches -> broker."""
    created = create_due_jobs(engine, now)
    queued = requested_jobs(engine)
    crawl_engine.begin(engine, queued, now, policy, FLEET)
    packed = crawl_engine.pack(engine, now, blocked=blocked, gather=gather)
    published = publish_all_pending(engine, publish, now)
    if created or queued or published:
        log.info(
            "dispatch.pass",
            jobs_created=created,
            jobs_started=len(queued),
            batches=len(packed),
            published=published,
        )
    return DispatchResult(created, len(queued), len(packed), published)
