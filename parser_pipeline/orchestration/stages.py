"""The distributed crawl's stages, one work item each: list a wall, read a batch of posts.

Each stage claims its item, does its work, stores it idempotently and finishes the item; the last
item of a job closes the job. A stage never receives data in its message, only an item id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, select

from parser_pipeline.constants import VK_EXECUTE_MAX_CALLS
from parser_pipeline.crawl.comments import CallsRunner, CommentsFetcher, CompletedPost
from parser_pipeline.crawl.planning import PostFetch, is_full_verify, oldest_wanted
from parser_pipeline.crawl.steps import read_stored, skip_entry, store_listing
from parser_pipeline.crawl.wall import WallTarget, list_walls
from parser_pipeline.errors import VkPermanentError
from parser_pipeline.orchestration import work
from parser_pipeline.store import groups as group_store
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store.batches import store_completed_posts
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import crawl_jobs, vk_groups, work_items

log = structlog.get_logger(__name__)

# Posts per comments work item: one execute's worth of first pages, so a batch costs about one
# request plus its follow-ups, and a lost or retried batch repeats little.
POSTS_PER_BATCH = VK_EXECUTE_MAX_CALLS


@dataclass(slots=True)
class StageResult:
    """What a stage did, small enough for a task result: ids and counts only."""

    item_id: int
    status: str
    job_id: int | None = None
    new_items: int = 0
    comments: int = 0
    changed: list[tuple[int, int]] = field(default_factory=list)
    job_finished: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _claim(
    engine: Engine, item_id: int, lost_after: timedelta, claimer: str | None
) -> tuple[Any, Any] | None:
    """Claim the item if its job still wants it; mark the job running. None: nothing to do."""
    now = _now()
    with transaction(engine) as connection:
        item = work.claim_item(connection, item_id, now, lost_after, claimer)
        if item is None:
            return None
        job = connection.execute(select(crawl_jobs).where(crawl_jobs.c.id == item.job_id)).one()
        if job.status not in ("queued", "running"):
            work.finish_item(connection, item_id, "skipped", now, error=f"job {job.status}")
            return None
        if job.status == "queued":
            job_store.start_job(connection, job.id, now)
    return item, job


def run_wall_item(
    engine: Engine,
    client: CallsRunner,
    item_id: int,
    *,
    lost_after: timedelta,
    full_verify_every: int,
    claimer: str | None = None,
) -> StageResult:
    """List the job's group wall, store the posts, and create one comments item per batch."""
    claimed = _claim(engine, item_id, lost_after, claimer)
    if claimed is None:
        return StageResult(item_id, "skipped")
    item, job = claimed
    with engine.connect() as connection:
        group = connection.execute(select(vk_groups).where(vk_groups.c.id == job.group_id)).first()
    if group is None:
        return _finish(engine, item, "failed", error=f"group {job.group_id} is no longer monitored")
    now = _now()
    full_verify = job.full_verify or is_full_verify(group.crawls_count, full_verify_every)
    target = WallTarget(group.id, oldest_wanted(now, group.max_post_age_days))
    listing = list_walls(client, [target])[0]
    if listing.error is not None:
        status = "done" if isinstance(listing.error, VkPermanentError) else "failed"
        wall_error = {"code": listing.error.code, "reason": listing.error.vk_message}
        return _finish(
            engine, item, status, error=str(listing.error), result={"wall_error": wall_error}
        )
    plan = store_listing(
        engine, listing, job.id, full_verify=full_verify, cutoff=target.cutoff, now=now
    )
    batches = [
        [
            [p.owner_id, p.post_id, p.comments_count, p.full_verify]
            for p in plan[i : i + POSTS_PER_BATCH]
        ]
        for i in range(0, len(plan), POSTS_PER_BATCH)
    ]
    with transaction(engine) as connection:
        work.create_items(connection, job.id, "comments", batches, _now())
    log.info("stage.wall_listed", group_id=group.id, posts=len(listing.posts), batches=len(batches))
    result = _finish(
        engine, item, "done", result={"posts": len(listing.posts), "planned": len(plan)}
    )
    result.new_items = len(batches)
    return result


def run_comments_item(
    engine: Engine,
    client: CallsRunner,
    item_id: int,
    *,
    lost_after: timedelta,
    claimer: str | None = None,
) -> StageResult:
    """Read every comment and reply of the item's posts and store them, post by post."""
    claimed = _claim(engine, item_id, lost_after, claimer)
    if claimed is None:
        return StageResult(item_id, "skipped")
    item, job = claimed
    targets = [PostFetch(o, p, c, bool(v)) for o, p, c, v in item.payload or []]
    stored_total = 0
    changed: list[tuple[int, int]] = []
    skipped: list[dict[str, Any]] = []

    def on_complete(completed: list[CompletedPost]) -> None:
        nonlocal stored_total
        with transaction(engine) as connection:
            batch = store_completed_posts(connection, completed, _now())
            skips = [skip_entry(p.target, p.error) for p in completed if p.error is not None]
            job_store.add_progress(
                connection,
                job.id,
                {"comments_count": batch.comments_seen, "skipped_count": len(skips)},
            )
            work.touch_item(connection, item_id, _now())
        stored_total += batch.comments_seen
        changed.extend(batch.changed)
        skipped.extend(skips)

    tally = CommentsFetcher(client, on_complete).run(targets, lambda b: read_stored(engine, b))
    failures = [f"wall{t.owner_id}_{t.post_id}: {e}" for t, e in tally.failures]
    result = {"comments": stored_total, "skipped": skipped, "failed_posts": failures}
    status = "failed" if failures else "done"
    outcome = _finish(engine, item, status, error=failures[0] if failures else None, result=result)
    outcome.comments = stored_total
    outcome.changed = changed
    return outcome


def fail_item(engine: Engine, item_id: int, error: BaseException) -> StageResult:
    """A stage gave up (retries spent): record why, and close the job if this was its last item."""
    with engine.connect() as connection:
        item = connection.execute(select(work_items).where(work_items.c.id == item_id)).first()
    if item is None:
        return StageResult(item_id, "missing")
    return _finish(engine, item, "failed", error=str(error))


def _finish(
    engine: Engine, item: Any, status: str, *, error: str | None = None, result: Any = None
) -> StageResult:
    """Finish the item; if it was the job's last unfinished one, close the job (once)."""
    now = _now()
    with transaction(engine) as connection:
        job = work.lock_job(connection, item.job_id)
        work.finish_item(connection, item.id, status, now, error=error, result=result)
        ended = None
        if (
            job is not None
            and job.status in ("queued", "running")
            and work.unfinished_items(connection, job.id) == 0
        ):
            ended = close_job(connection, job, now)
    return StageResult(item.id, status, job_id=item.job_id, job_finished=ended)


def close_job(connection: Any, job: Any, now: datetime) -> str:
    """End a job from its items: failed if any failed, else succeeded with the skips listed."""
    items = work.job_items(connection, job.id)
    failed = [i for i in items if i.status == "failed"]
    skipped: list[dict[str, Any]] = []
    wall_error: dict[str, Any] | None = None
    for i in items:
        if isinstance(i.result, dict):
            skipped.extend(i.result.get("skipped") or [])
            wall_error = wall_error or i.result.get("wall_error")
    if wall_error is not None:
        skipped.append({"group_id": job.group_id, **wall_error})
    status = "failed" if failed else "succeeded"
    error = failed[0].error if failed else None
    job_store.add_progress(connection, job.id, {"errors_count": len(failed)})
    job_store.finish_job(
        connection,
        job.id,
        status,
        now,
        error=error,
        details={"skipped": skipped} if skipped else None,
    )
    if job.group_id is not None:
        group_error = error or (
            f"VK error {wall_error['code']}: {wall_error['reason']}" if wall_error else None
        )
        group_store.record_crawl(
            connection,
            job.group_id,
            now,
            error=group_error,
            error_code=wall_error["code"] if wall_error else None,
        )
    log.info("stage.job_finished", job_id=job.id, group_id=job.group_id, status=status)
    return status


StageFn = Callable[..., StageResult]
