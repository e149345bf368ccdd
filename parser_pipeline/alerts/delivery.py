"""Delivering the outbox: claim due rows, send each, record the outcome; retries and dead letter.

A pass claims due rows in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so
parallel workers take different rows), counting the attempt and leasing the row for
`alerts_lease_seconds`; it sends outside any transaction and records the outcome in another.
A worker killed mid-send leaves the lease, and the row is taken again when it ends: receivers
may see a delivery twice, with the same delivery id (at least once). A failure is retried with
full-jitter exponential backoff, or after the receiver's own wait (429 retry_after,
Retry-After), which also holds every other row of that channel; a row still failing
`alerts_max_age_seconds` after it was written goes to the dead letter. A channel that starts
failing is logged once (`alerts.channel_failing`) and once when it recovers.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import structlog
from sqlalchemy import Connection, Engine, Row, or_, select, update

from parser_pipeline import metrics
from parser_pipeline.alerts.decisions import next_attempt
from parser_pipeline.alerts.outbox import sweep
from parser_pipeline.alerts.rules import Channel
from parser_pipeline.errors import AlertDeliveryError
from parser_pipeline.settings import Settings
from parser_pipeline.store.engine import for_update, transaction
from parser_pipeline.store.names import ChannelKind
from parser_pipeline.store.schema import alert_channels, alert_deliveries
from parser_pipeline.store.writes import upsert_insert

log = structlog.get_logger(__name__)

# Rows one claim takes: a few seconds of sending at most, so a lease (two minutes by default)
# never ends while its worker is still busy with the batch.
CLAIM_BATCH: Final = 20
# Characters of an error kept on the row.
ERROR_CHARS: Final = 500

Clock = Callable[[], datetime]


class Sends(Protocol):
    def send(
        self, channel: str, target: str, delivery_id: str, payload: dict[str, Any]
    ) -> None: ...


@dataclass(slots=True)
class DeliverySummary:
    """What one run did: rows delivered, failed (to be retried), dead-lettered, deferred."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    written: int = 0  # rows the sweep wrote (digests, spikes, deletions)


def channel_key(channel: str, target: str) -> str:
    """The alert_channels key: a hash, so the table holds no chat id or URL."""
    return hashlib.sha256(f"{channel}\n{target}".encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _due(now: datetime) -> list[Any]:
    d = alert_deliveries.c
    return [
        d.status == "pending",
        d.next_attempt_at <= now,
        or_(d.leased_until.is_(None), d.leased_until <= now),
    ]


def claim(engine: Engine, now: datetime, lease_seconds: float, limit: int) -> list[Row[Any]]:
    """Take up to `limit` due rows: each counts an attempt and is leased to this caller."""
    d = alert_deliveries.c
    with transaction(engine) as connection:
        query = select(alert_deliveries).where(*_due(now)).order_by(d.next_attempt_at, d.id)
        rows = list(
            connection.execute(for_update(connection, query.limit(limit), skip_locked=True))
        )
        if rows:
            connection.execute(
                update(alert_deliveries)
                .where(d.id.in_([r.id for r in rows]))
                .values(
                    leased_until=now + timedelta(seconds=lease_seconds),
                    attempts=d.attempts + 1,
                )
            )
    return rows


@dataclass(slots=True)
class ChannelStates:
    """The channels' rows as one claim found them: holds (rate limits) and which are failing.
    A delivery to a healthy channel that works writes nothing about the channel."""

    holds: dict[str, datetime]
    failing: set[str]

    @classmethod
    def load(cls, connection: Connection, now: datetime) -> ChannelStates:
        ch = alert_channels.c
        rows = list(connection.execute(select(ch.key, ch.hold_until, ch.failing_since)))
        return cls(
            {r.key: r.hold_until for r in rows if r.hold_until is not None and r.hold_until > now},
            {r.key for r in rows if r.failing_since is not None},
        )


def _channel_state(
    connection: Connection,
    key: str,
    channel: str,
    now: datetime,
    error: AlertDeliveryError | None,
    states: ChannelStates,
) -> str | None:
    """Record the channel's health; returns "failing" or "recovered" when that changed."""
    ch = alert_channels.c
    if error is None:
        if key not in states.failing:
            return None
        connection.execute(
            update(alert_channels).where(ch.key == key).values(failing_since=None, last_error=None)
        )
        states.failing.discard(key)
        return "recovered"
    stmt = upsert_insert(connection, alert_channels).values(key=key, channel=channel)
    connection.execute(stmt.on_conflict_do_nothing())
    # Locked: two workers failing on one channel at once report it once.
    query = for_update(connection, select(ch.failing_since).where(ch.key == key))
    before = connection.execute(query).scalar_one()
    values: dict[str, Any] = {"last_error": str(error)[:ERROR_CHARS]}
    if before is None:
        values["failing_since"] = now
    if error.retry_after is not None:
        values["hold_until"] = now + timedelta(seconds=error.retry_after)
    connection.execute(update(alert_channels).where(ch.key == key).values(**values))
    states.failing.add(key)
    return "failing" if before is None else None


def _record(
    engine: Engine,
    row: Row[Any],
    settings: Settings,
    error: AlertDeliveryError | None,
    now: datetime,
    states: ChannelStates,
) -> str:
    """Write the outcome of one attempt; returns delivered, failed or dead."""
    d = alert_deliveries.c
    key = channel_key(row.channel, row.target)
    shown = Channel(kind=ChannelKind(row.channel), target=row.target).display
    with transaction(engine) as connection:
        change = _channel_state(connection, key, row.channel, now, error, states)
        if error is None:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": now}
            values.update(leased_until=None, last_error=None)
            outcome = "delivered"
        else:
            retry_at = next_attempt(
                now,
                attempts=row.attempts + 1,
                created_at=row.created_at,
                max_age_seconds=settings.alerts_max_age_seconds,
                retry_after=error.retry_after,
            )
            values = {"leased_until": None, "last_error": str(error)[:ERROR_CHARS]}
            if retry_at is None:
                values["status"] = "dead"
                outcome = "dead"
            else:
                values["next_attempt_at"] = retry_at
                outcome = "failed"
        # Only while this caller's claim holds: a row another worker took after the lease
        # ended is that worker's to record.
        connection.execute(
            update(alert_deliveries).where(d.id == row.id, d.status == "pending").values(**values)
        )
    if change == "failing":
        log.warning("alerts.channel_failing", channel=shown, error=str(error))
    elif change == "recovered":
        log.info("alerts.channel_recovered", channel=shown)
    if outcome == "delivered":
        metrics.ALERTS_SENT.labels(row.channel).inc()
        if row.first_stored_at is not None:
            delay = max(0.0, (now - row.first_stored_at).total_seconds())
            metrics.ALERT_DELAY.labels(row.channel).observe(delay)
        log.info("alerts.delivered", delivery_id=row.delivery_id, rule_id=row.rule_id,
                 channel=row.channel, attempts=row.attempts + 1)  # fmt: skip
    elif outcome == "dead":
        metrics.ALERTS_DEAD.labels(row.channel).inc()
        log.warning("alerts.dead_lettered", delivery_id=row.delivery_id, rule_id=row.rule_id,
                    channel=shown, attempts=row.attempts + 1, error=str(error))  # fmt: skip
    else:
        metrics.ALERTS_FAILED.labels(row.channel).inc()
        log.debug("alerts.delivery_failed", delivery_id=row.delivery_id, channel=row.channel,
                  error=str(error))  # fmt: skip
    return outcome


def _defer(engine: Engine, row: Row[Any], until: datetime) -> None:
    """A row of a channel on hold: back to pending, due when the hold ends, attempt uncounted."""
    d = alert_deliveries.c
    with transaction(engine) as connection:
        connection.execute(
            update(alert_deliveries)
            .where(d.id == row.id, d.status == "pending")
            .values(next_attempt_at=until, leased_until=None, attempts=d.attempts - 1)
        )


def deliver_due(
    engine: Engine,
    settings: Settings,
    sender: Sends,
    *,
    clock: Clock = _now,
    max_seconds: float | None = None,
) -> DeliverySummary:
    """Send every row due now (claims of CLAIM_BATCH until none is due, or `max_seconds`)."""
    summary = DeliverySummary()
    started = time.monotonic()
    while max_seconds is None or time.monotonic() - started < max_seconds:
        now = clock()
        rows = claim(engine, now, settings.alerts_lease_seconds, CLAIM_BATCH)
        if not rows:
            break
        with engine.connect() as connection:
            states = ChannelStates.load(connection, now)
        for row in rows:
            held = states.holds.get(channel_key(row.channel, row.target))
            if held is not None:
                _defer(engine, row, held)
                summary.deferred += 1
                continue
            error: AlertDeliveryError | None = None
            try:
                sender.send(row.channel, row.target, row.delivery_id, row.payload)
            except AlertDeliveryError as exc:
                error = exc
            outcome = _record(engine, row, settings, error, clock(), states)
            if outcome == "delivered":
                summary.delivered += 1
            elif outcome == "dead":
                summary.dead += 1
            else:
                summary.failed += 1
            if error is not None and error.retry_after is not None:
                states.holds[channel_key(row.channel, row.target)] = clock() + timedelta(
                    seconds=error.retry_after
                )
    return summary


def run_alerts(
    engine: Engine,
    settings: Settings,
    sender: Sends,
    *,
    clock: Clock = _now,
    max_seconds: float | None = None,
) -> DeliverySummary:
    """One pass of the whole alert machinery: the sweep (digests, spikes, deletions) in one
    transaction, then every due delivery. The single process runs it after each crawl; the
    fleet's notify workers run it when beat or the analyze stage asks."""
    with transaction(engine) as connection:
        written = sweep(connection, clock())
    summary = deliver_due(engine, settings, sender, clock=clock, max_seconds=max_seconds)
    summary.written = written
    if summary.delivered or summary.failed or summary.dead or written:
        log.info("alerts.pass_done", written=written, delivered=summary.delivered,
                 failed=summary.failed, dead=summary.dead, deferred=summary.deferred)  # fmt: skip
    return summary
