"""The crawl engine both runners share: take a batch of calls, send it, settle the answers, pack.

A batch is up to 25 VK calls of any jobs and groups (one `execute`). Whoever carries the work
(a loop in one process, or Celery tasks in a fleet) does the same four things with it:

    take(batch)     claim it and read its calls                        (one transaction)
    send(batch)     one execute through the VK client (its retries, splits, token rotation)
    settle(batch)   store what came back, queue follow-up calls, finish the posts and jobs
                    whose last call this was                            (one transaction)
    pack()          put pending calls into new batches                  (one transaction)

Everything a batch changes is written in one transaction, so a batch that dies halfway (a
killed worker, a lost database) changes nothing and runs again; and what is stored is keyed by
VK's ids, so a batch run twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import Connection, Engine, select

from parser_pipeline import metrics
from parser_pipeline.crawl import calls as kinds
from parser_pipeline.crawl import handlers
from parser_pipeline.crawl.jobs import (
    CrawlPolicy,
    JobEnded,
    advance_job,
    begin_job,
    running_job_ids,
)
from parser_pipeline.crawl.planning import find_vanished, oldest_wanted
from parser_pipeline.errors import (
    VkError,
    VkPermanentError,
    VkQuotaExhaustedError,
    VkTransportError,
)
from parser_pipeline.store import batches, pool
from parser_pipeline.store import jobs as job_store
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.pool import ReadKey
from parser_pipeline.store.reads import stored_comments, thread_synced_counts
from parser_pipeline.store.schema import CALL_FINAL_STATUSES, crawl_jobs, vk_calls, vk_groups
from parser_pipeline.store.writes import (
    chunks,
    comment_row,
    mark_comments_deleted,
    mark_posts_synced,
    set_threads_synced,
    upsert_authors,
    upsert_comments,
    upsert_posts,
)
from parser_pipeline.vk.batching import CallOutcome, VkCall
from parser_pipeline.vk.client import Sent

log = structlog.get_logger(__name__)


class CallSender(Protocol):
    """What sending a batch needs of the VK client."""

    def run(self, calls: Sequence[VkCall]) -> Sent: ...


class BatchClient(CallSender, Protocol):
    """What running a batch needs: sending, and which methods' quotas are spent today."""

    def blocked_methods(self) -> dict[str, datetime]: ...


@dataclass(frozen=True, slots=True)
class Taken:
    batch_id: int
    calls: list[handlers.CallRow]


@dataclass(slots=True)
class Settled:
    """What settling a batch did, small enough to log or return from a task."""

    batch_id: int
    requests: int = 0
    comments: int = 0
    changed: list[tuple[int, int]] = field(default_factory=list)
    deleted: Counter[int] = field(default_factory=Counter)  # by owner_id
    reads_done: Counter[int] = field(default_factory=Counter)  # by job_id
    waiting: dict[str, datetime] = field(default_factory=dict)  # quota-bound methods -> reset
    ended: list[JobEnded] = field(default_factory=list)


def _row(call: Any) -> handlers.CallRow:
    return handlers.CallRow(
        call.id, call.job_id, call.kind, call.owner_id, call.post_id, call.params, call.priority
    )


def take(
    engine: Engine, batch_id: int, now: datetime, lost_after: timedelta, claimer: str | None
) -> Taken | None:
    """Claim a batch and read its calls; None when it is taken, done, or has nothing to send."""
    with transaction(engine) as connection:
        if not batches.claim_batch(connection, batch_id, now, lost_after, claimer):
            return None
        rows = pool.calls_of_batch(connection, batch_id)
        if not rows:
            batches.finish_batch(connection, batch_id, "done", now)
            return None
    return Taken(batch_id, [_row(r) for r in rows])


def send(client: CallSender, taken: Taken) -> Sent:
    """One execute (or a few, when VK splits or fails it) for the batch's calls."""
    return client.run([kinds.vk_call(c.kind, c.params) for c in taken.calls])


def pack(
    engine: Engine,
    now: datetime,
    *,
    blocked: Collection[str] = (),
    gather: timedelta = timedelta(seconds=1),
    max_batches: int = batches.MAX_BATCHES_PER_PASS,
) -> list[int]:
    """New batches from pending calls (see `store.batches.pack` for when a partial one goes)."""
    with transaction(engine) as connection:
        return batches.pack(
            connection, now, blocked_methods=blocked, gather=gather, max_batches=max_batches
        )


def begin(
    engine: Engine,
    job_ids: Iterable[int],
    now: datetime,
    policy: CrawlPolicy,
    runner: str,
    *,
    full_verify: bool | None = None,
) -> list[JobEnded]:
    """Start queued jobs (their first wall page goes into the pool); `full_verify` True makes
    each a full verification, None leaves it to the job and the policy."""
    ended: list[JobEnded] = []
    with transaction(engine) as connection:
        for job_id in sorted(job_ids):
            result = begin_job(
                connection, job_id, now, policy, runner=runner, full_verify=full_verify
            )
            if result is not None:
                ended.append(result)
    return ended


# ---- settling ------------------------------------------------------------------------------


def _wall_contexts(
    connection: Connection, job_ids: Collection[int]
) -> dict[int, handlers.WallContext]:
    if not job_ids:
        return {}
    rows = connection.execute(
        select(
            crawl_jobs.c.id,
            crawl_jobs.c.started_at,
            vk_groups.c.wall_listed_until,
            vk_groups.c.max_post_age_days,
        )
        .select_from(crawl_jobs.join(vk_groups, vk_groups.c.id == crawl_jobs.c.group_id))
        .where(crawl_jobs.c.id.in_(list(job_ids)))
    )
    return {
        r.id: handlers.WallContext(
            r.wall_listed_until, oldest_wanted(r.started_at, r.max_post_age_days)
        )
        for r in rows
    }


def _listed_ids(value: Any) -> list[int]:
    """The comment ids a `wall.getComments` answer lists (nothing from a malformed one: the
    handler names what is wrong with it)."""
    items = value.get("items") if isinstance(value, dict) else None
    if not isinstance(items, list):
        return []
    return [i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), int)]


def _answer(
    call: handlers.CallRow,
    value: Any,
    walls: Mapping[int, handlers.WallContext],
    modes: Mapping[ReadKey, bool],
    threads: Mapping[int, Mapping[int, int | None]],
) -> handlers.Answer:
    if call.kind == kinds.WALL:
        return handlers.wall_page(call, value, walls[call.job_id])
    if call.kind == kinds.CHECK:
        return handlers.count_check(call, value)
    assert call.post_id is not None
    if call.kind == kinds.TOP:
        key = (call.job_id, call.owner_id, call.post_id)
        return handlers.top_page(
            call,
            value,
            verify=modes.get(key, False),
            thread_synced=threads.get(call.owner_id, {}),
        )
    return handlers.thread_page(call, value)


def _failure_result(error: VkError) -> dict[str, Any]:
    return {"code": error.code, "permanent": isinstance(error, VkPermanentError)}


def settle(engine: Engine, taken: Taken, sent: Sent, now: datetime, policy: CrawlPolicy) -> Settled:
    """Store a sent batch's answers, queue follow-ups, finish posts and jobs; one transaction."""
    result = Settled(taken.batch_id, requests=sent.requests)
    outcomes = dict(zip((c.id for c in taken.calls), sent.outcomes, strict=True))
    answered = [
        c for c in taken.calls if not isinstance(outcomes[c.id].error, VkQuotaExhaustedError)
    ]
    share = sent.requests / len(answered) if answered else 0.0
    with transaction(engine) as connection:
        unsettled = batches.unsettled_calls(connection, taken.batch_id)
        mine = [c for c in taken.calls if c.id in unsettled]  # others: settled by another run
        live = running_job_ids(connection, list({c.job_id for c in mine}))
        calls = [c for c in mine if c.job_id in live]
        _drop(connection, [c.id for c in mine if c.job_id not in live])
        walls = _wall_contexts(connection, {c.job_id for c in calls if c.kind == kinds.WALL})
        top_keys = [_read_key(c) for c in calls if c.kind == kinds.TOP]
        modes = pool.read_modes(connection, top_keys)
        threads = thread_synced_counts(
            connection,
            [
                (c.owner_id, comment_id)
                for c in calls
                if c.kind == kinds.TOP and outcomes[c.id].error is None
                for comment_id in _listed_ids(outcomes[c.id].value)
            ],
        )
        updates: list[dict[str, Any]] = []
        answers: list[tuple[handlers.CallRow, handlers.Answer]] = []
        for call in calls:
            outcome: CallOutcome = outcomes[call.id]
            update: dict[str, Any] = {"id": call.id, "batch_id": taken.batch_id, "share": share}
            error = outcome.error
            if isinstance(error, VkQuotaExhaustedError):
                update.update(status="pending", share=0.0)
                for method in error.methods:
                    if error.resets_at is not None:
                        result.waiting[method] = error.resets_at
            elif error is not None:
                update.update(status="failed", error=str(error), result=_failure_result(error))
            else:
                try:
                    answer = _answer(call, outcome.value, walls, modes, threads)
                except VkError as malformed:
                    update.update(
                        status="failed", error=str(malformed), result=_failure_result(malformed)
                    )
                else:
                    update.update(status="done", result=answer.result)
                    answers.append((call, answer))
            updates.append(update)
        _store_answers(connection, answers, now, result)
        pool.settle_calls(connection, updates, now)
        reads = {_read_key(c) for c in calls if c.kind in (kinds.TOP, kinds.THREAD)}
        _complete_reads(connection, reads, now, result)
        for job_id in sorted({c.job_id for c in calls}):
            ended = advance_job(connection, job_id, now, policy)
            if ended is not None:
                result.ended.append(ended)
        batches.finish_batch(connection, taken.batch_id, "done", now)
    metrics.COMMENTS_STORED.inc(result.comments)
    metrics.COMMENTS_CHANGED.inc(len(result.changed))
    return result


def _read_key(call: handlers.CallRow) -> ReadKey:
    assert call.post_id is not None, "comment calls belong to a post"
    return (call.job_id, call.owner_id, call.post_id)


def give_up(
    engine: Engine, batch_id: int, reason: str, now: datetime, policy: CrawlPolicy
) -> Settled:
    """A batch that could not be sent (its task's retries spent): its calls fail with `reason`,
    so their posts and jobs end instead of waiting forever."""
    with transaction(engine) as connection:
        rows = pool.calls_of_batch(connection, batch_id)
    if not rows:  # settled already (the failure came after its work was stored)
        return Settled(batch_id)
    taken = Taken(batch_id, [_row(r) for r in rows])
    failed = [
        CallOutcome(
            call=kinds.vk_call(c.kind, c.params),
            error=VkTransportError(reason, method=kinds.METHOD_OF_KIND[c.kind]),
        )
        for c in taken.calls
    ]
    settled = settle(engine, taken, Sent(failed, 0), now, policy)
    with transaction(engine) as connection:
        batches.finish_batch(connection, batch_id, "failed", now, error=reason)
    return settled


def _drop(connection: Connection, call_ids: list[int]) -> None:
    """Calls of jobs that ended meanwhile (cancelled): their answers are not wanted."""
    if call_ids:
        connection.execute(vk_calls.delete().where(vk_calls.c.id.in_(call_ids)))


def _store_answers(
    connection: Connection,
    answers: list[tuple[handlers.CallRow, handlers.Answer]],
    now: datetime,
    result: Settled,
) -> None:
    posts = [p for _, a in answers for p in a.posts]
    upsert_posts(connection, posts, now)
    upsert_authors(connection, [x for _, a in answers for x in a.authors], now)
    rows = [
        comment_row(comment, now, thread_complete=complete)
        for _, a in answers
        for comment, complete in a.comments
    ]
    result.changed.extend(upsert_comments(connection, rows))
    progress: dict[int, Counter[str]] = {}
    for call, answer in answers:
        counts = progress.setdefault(call.job_id, Counter())
        read = int(answer.result.get("comments", 0))  # each comment once per read
        counts["comments_count"] += read
        result.comments += read
        if call.kind == kinds.WALL:
            counts["posts_count"] += len(answer.posts)
    for job_id, counts in sorted(progress.items()):
        job_store.add_progress(connection, job_id, counts, now)
    pool.add_calls(
        connection,
        [
            {
                "job_id": f.job_id,
                "kind": f.kind,
                "method": kinds.METHOD_OF_KIND[f.kind],
                "owner_id": f.owner_id,
                "post_id": f.post_id,
                "params": f.params,
                "priority": f.priority,
            }
            for _, answer in answers
            for f in answer.follow_ups
        ],
        now,
    )


def _read_calls(
    connection: Connection, keys: Collection[ReadKey], *columns: Any
) -> dict[ReadKey, list[Any]]:
    """The calls of these reads (the given columns of each), by read."""
    c = vk_calls.c
    found: dict[ReadKey, list[Any]] = {key: [] for key in keys}
    for chunk in chunks(sorted(keys), KEYS_PER_QUERY):
        rows = connection.execute(
            select(c.job_id, c.owner_id, c.post_id, *columns).where(
                keys_in((c.job_id, c.owner_id, c.post_id), chunk)
            )
        )
        for row in rows:
            found[(row.job_id, row.owner_id, row.post_id)].append(row)
    return found


def _complete_reads(
    connection: Connection, keys: set[ReadKey], now: datetime, result: Settled
) -> None:
    """Finish the reads whose last call was answered: deletions, thread and post watermarks."""
    reads = pool.lock_reads(connection, keys)
    open_reads = {k: r for k, r in reads.items() if r.status == "reading"}
    c = vk_calls.c
    statuses = _read_calls(connection, list(open_reads), c.status)
    done = [k for k, rows in statuses.items() if all(r.status in CALL_FINAL_STATUSES for r in rows)]
    if not done:
        return
    by_read = _read_calls(connection, done, c.status, c.result, c.error)  # only finished reads
    whole = [k for k in done if not any(r.status == "failed" for r in by_read[k])]
    stored = stored_comments(connection, [(k[1], k[2]) for k in whole])
    synced: list[tuple[int, int, int, str | None, bool]] = []
    finished: list[pool.FinishedRead] = []
    for key in done:
        read = open_reads[key]
        job_id, owner_id, post_id = key
        rows = by_read[key]
        failed = [r for r in rows if r.status == "failed"]
        if failed:
            line = failed[0].error or "failed"
            if all((r.result or {}).get("permanent") for r in failed):
                synced.append((owner_id, post_id, read.comments_count, line, False))
                finished.append(pool.FinishedRead(key, "skipped", error=line))
                result.reads_done[job_id] += 1
            else:
                finished.append(pool.FinishedRead(key, "failed", error=line))
                log.warning("crawl.post_failed", owner_id=owner_id, post_id=post_id, error=line)
            continue
        seen = handlers.post_seen([r.result or {} for r in rows])
        vanished = find_vanished(stored[(owner_id, post_id)], seen.top_level, seen.complete_threads)
        if vanished:
            result.deleted[owner_id] += mark_comments_deleted(connection, owner_id, vanished, now)
        set_threads_synced(connection, owner_id, seen.drilled_counts, now)
        synced.append((owner_id, post_id, read.comments_count, None, bool(read.verify)))
        finished.append(pool.FinishedRead(key, "done", comments=seen.comments))
        result.reads_done[job_id] += 1
    pool.finish_reads(connection, finished)
    mark_posts_synced(connection, synced, now)


def run_batch(
    engine: Engine,
    client: BatchClient,
    batch_id: int,
    policy: CrawlPolicy,
    *,
    now: Callable[[], datetime],
    lost_after: timedelta,
    claimer: str | None = None,
    gather: timedelta = timedelta(seconds=1),
) -> Settled | None:
    """Take, send and settle one batch, then pack what became pending (a fleet's fetch task).

    None when the batch was not there to take (done already, or held by a live worker)."""
    taken = take(engine, batch_id, now(), lost_after, claimer)
    if taken is None:
        return None
    sent = send(client, taken)
    settled = settle(engine, taken, sent, now(), policy)
    pack(engine, now(), blocked=client.blocked_methods(), gather=gather)
    return settled
