"""Export subscriptions: saved exports that write what is new whenever a crawl of their groups ends.

A subscription has filters, a format and a directory, and follows groups (none: every group)
and keyword categories. When a crawl job of a followed group finishes, `run_due_subscriptions`
writes `NAME-<UTC time>-<job id>.<ext>` with the comments changed or analyzed since the
subscription's watermark (`exported_until`), records the run as an export job (requested_by
`beat`) and moves the watermark only after the file is complete. The first run exports all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import structlog
from sqlalchemy import Engine, delete, insert, select, update

from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.export.filters import ExportOptions, from_stored, to_stored
from parser_pipeline.export.jobs import ExportJobOutcome, insert_export_job, run_claimed
from parser_pipeline.store.comment_filter import CommentFilter
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.names import export_format
from parser_pipeline.store.schema import crawl_jobs, export_jobs, export_subscriptions

log = structlog.get_logger(__name__)

# A crawl stamps rows with the time its batch began and commits moments (at most minutes)
# later; the next run looks this far behind the watermark, so such rows are exported again
# rather than missed. Consumers key rows on (group_id, comment_id) anyway: a changed comment
# comes again by design.
WATERMARK_OVERLAP: Final = timedelta(minutes=2)
# Names become file names: letters, digits, `.`, `_`, `-`.
_NAME = re.compile(r"^[\w.-]{1,100}$")


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    name: str
    format: str
    directory: str
    filters: CommentFilter
    options: ExportOptions
    group_ids: tuple[int, ...]
    categories: tuple[str, ...]
    is_active: bool
    exported_until: datetime | None


def _from_row(row: Any) -> Subscription:
    filters, options = from_stored(row.filters)
    return Subscription(
        id=row.id,
        name=row.name,
        format=row.format,
        directory=row.directory,
        filters=filters,
        options=options,
        group_ids=tuple(row.group_ids or ()),
        categories=tuple(row.categories or ()),
        is_active=row.is_active,
        exported_until=row.exported_until,
    )


def add_subscription(
    engine: Engine,
    *,
    name: str,
    fmt: str,
    directory: Path,
    filters: CommentFilter,
    options: ExportOptions | None = None,
    group_ids: Sequence[int] = (),
    categories: Sequence[str] = (),
    now: datetime,
) -> int:
    """Save a subscription; its id. The name must be new and usable in a file name."""
    if not _NAME.match(name) or name.startswith("."):
        raise ConfigError(f"subscription name {name!r}: use letters, digits, '.', '_', '-'")
    export_format(fmt)
    if not directory.is_absolute():
        raise ConfigError(f"{directory}: the export worker needs an absolute directory")
    with transaction(engine) as connection:
        taken = connection.execute(
            select(export_subscriptions.c.id).where(export_subscriptions.c.name == name)
        ).first()
        if taken is not None:
            raise ConfigError(f"an export subscription named {name!r} exists; remove it first")
        return int(
            connection.execute(
                insert(export_subscriptions)
                .values(
                    name=name,
                    format=fmt,
                    directory=str(directory),
                    filters=to_stored(filters, options),
                    group_ids=sorted(set(group_ids)) or None,
                    categories=sorted(set(categories)) or None,
                    created_at=now,
                )
                .returning(export_subscriptions.c.id)
            ).scalar_one()
        )


def list_subscriptions(engine: Engine) -> list[Subscription]:
    with engine.connect() as connection:
        rows = connection.execute(select(export_subscriptions).order_by(export_subscriptions.c.id))
        return [_from_row(row) for row in rows]


def remove_subscription(engine: Engine, name: str) -> None:
    """Delete a subscription; its past jobs stay (their subscription id becomes NULL)."""
    with transaction(engine) as connection:
        deleted = connection.execute(
            delete(export_subscriptions).where(export_subscriptions.c.name == name)
        ).rowcount
    if not deleted:
        raise NotFoundError(f"no export subscription named {name!r}; see `vkpipe exports list`")


def follows(subscription: Subscription, group_id: int) -> bool:
    """Whether a finished crawl of `group_id` triggers the subscription (pure)."""
    return subscription.is_active and (
        not subscription.group_ids or group_id in subscription.group_ids
    )


def effective_filters(subscription: Subscription) -> CommentFilter:
    """The saved filters narrowed to the followed groups and categories (pure)."""
    filters = subscription.filters
    update_: dict[str, Any] = {}
    if subscription.group_ids and not filters.group_ids:
        update_["group_ids"] = subscription.group_ids
    if subscription.categories:
        update_["categories"] = tuple(sorted({*filters.categories, *subscription.categories}))
    return filters.model_copy(update=update_) if update_ else filters


def file_name(name: str, fmt: str, now: datetime, job_id: int) -> str:
    """`NAME-20240601T120000Z-17.csv`: sorts by time, unique by job (pure)."""
    return f"{name}-{now:%Y%m%dT%H%M%SZ}-{job_id}.{export_format(fmt)}"


def run_subscription(
    engine: Engine, subscription: Subscription, now: Callable[[], datetime]
) -> ExportJobOutcome:
    """One incremental export of a subscription, recorded as an export job."""
    started = now()
    since = subscription.exported_until
    with transaction(engine) as connection:
        job_id = insert_export_job(
            connection,
            fmt=subscription.format,
            path=subscription.directory,  # the file name needs the id; set just below
            filters=effective_filters(subscription),
            options=subscription.options,
            requested_by="beat",
            now=started,
            status="running",
            subscription_id=subscription.id,
        )
        path = str(
            Path(subscription.directory)
            / file_name(subscription.name, subscription.format, started, job_id)
        )
        connection.execute(update(export_jobs).where(export_jobs.c.id == job_id).values(path=path))
        job = connection.execute(select(export_jobs).where(export_jobs.c.id == job_id)).one()
    outcome = run_claimed(
        engine,
        job,
        now,
        changed_since=since - WATERMARK_OVERLAP if since is not None else None,
        skip_empty=True,
        requeue=False,  # a run is not published again: the next crawl's run replaces it
    )
    if outcome.status == "succeeded":
        _move_watermark(engine, subscription.id, started)
    log.info(
        "export.subscription_ran",
        subscription=subscription.name,
        job_id=job_id,
        status=outcome.status,
        rows=outcome.rows,
        error=outcome.error,
    )
    return outcome


def _move_watermark(engine: Engine, subscription_id: int, until: datetime) -> None:
    """exported_until = until, never backwards (two runs may end out of order)."""
    table = export_subscriptions.c
    with transaction(engine) as connection:
        connection.execute(
            update(export_subscriptions)
            .where(table.id == subscription_id)
            .where((table.exported_until.is_(None)) | (table.exported_until < until))
            .values(exported_until=until)
        )


def crawl_job_group(engine: Engine, crawl_job_id: int) -> int | None:
    """The group a crawl job crawled (None: unknown job, or its group was removed)."""
    with engine.connect() as connection:
        return connection.execute(
            select(crawl_jobs.c.group_id).where(crawl_jobs.c.id == crawl_job_id)
        ).scalar_one_or_none()


def run_due_subscriptions(
    engine: Engine, group_id: int, now: Callable[[], datetime]
) -> list[ExportJobOutcome]:
    """Run every active subscription that follows `group_id` (a crawl of it just finished).

    A subscription that fails for a reason vkpipe knows (a missing directory, a full disk)
    does not stop the others; each failure is on its own job row.
    """
    due = [s for s in list_subscriptions(engine) if follows(s, group_id)]
    return [run_subscription(engine, subscription, now) for subscription in due]
