"""Alert rules and their deliveries in the database: add, find, pause, remove, history, counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, Row, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from parser_pipeline.alerts.outbox import backfill_instant
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.store.comment_filter import resolve_keyword_ids
from parser_pipeline.store.names import DELIVERY_STATUSES, AlertMode, check_status
from parser_pipeline.store.schema import alert_channels, alert_deliveries, alert_rules

# History rows one call returns at most (newest first).
MAX_HISTORY: Final = 1000


def add_rule(
    connection: Connection, spec: AlertRuleSpec, now: datetime, since: datetime | None = None
) -> Row[Any]:
    """Store a new rule that starts from now (or from `since`): it never replays the history
    before. An instant rule given an earlier `since` owes the comments stored since then at
    once (`backfill_instant`). ConfigError when the name is taken; NotFoundError for an unknown
    keyword."""
    resolve_keyword_ids(connection, spec.filter)
    exists = select(alert_rules.c.id).where(alert_rules.c.name == spec.name)
    if connection.execute(exists).first() is not None:
        raise ConfigError(f"alert rule {spec.name!r} exists; pick another name or remove it first")
    values = {**spec.to_row(), "starts_at": since or now, "created_at": now, "updated_at": now}
    try:
        new_id = connection.execute(
            alert_rules.insert().values(**values).returning(alert_rules.c.id)
        ).scalar_one()
    except IntegrityError:
        raise ConfigError(f"alert rule {spec.name!r} exists; pick another name") from None
    if since is not None and since < now and spec.mode is AlertMode.instant:
        backfill_instant(connection, int(new_id), now)
    return get_rule(connection, str(new_id))


def get_rule(connection: Connection, ref: str) -> Row[Any]:
    """A rule by id or by name; NotFoundError naming it otherwise."""
    r = alert_rules.c
    condition = r.id == int(ref) if ref.isdigit() else r.name == ref
    row = connection.execute(select(alert_rules).where(condition)).first()
    if row is None:
        raise NotFoundError(f"alert rule {ref!r} does not exist; see `vkpipe alerts list`")
    return row


def list_rules(connection: Connection) -> list[Row[Any]]:
    """Every rule with its delivery counts per status (pending, delivered, dead), by id."""
    d = alert_deliveries.c
    counts = {status: func.count().filter(d.status == status) for status in DELIVERY_STATUSES}
    per_rule = (
        select(d.rule_id, *(c.label(s) for s, c in counts.items())).group_by(d.rule_id).subquery()
    )
    query = (
        select(alert_rules, *(func.coalesce(per_rule.c[s], 0).label(s) for s in DELIVERY_STATUSES))
        .outerjoin(per_rule, per_rule.c.rule_id == alert_rules.c.id)
        .order_by(alert_rules.c.id)
    )
    return list(connection.execute(query))


def set_paused(connection: Connection, ref: str, paused: bool, now: datetime) -> Row[Any]:
    """Pause or resume a rule. Resuming starts it from now: what it missed is not replayed."""
    row = get_rule(connection, ref)
    values: dict[str, Any] = {"is_paused": paused, "updated_at": now}
    if not paused and row.is_paused:
        values["starts_at"] = now
        values["last_fired_at"] = None
    connection.execute(update(alert_rules).where(alert_rules.c.id == row.id).values(**values))
    return get_rule(connection, str(row.id))


def remove_rule(connection: Connection, ref: str) -> Row[Any]:
    """Delete a rule, its pending deliveries and its history."""
    row = get_rule(connection, ref)
    connection.execute(delete(alert_rules).where(alert_rules.c.id == row.id))
    return row


def history(
    connection: Connection,
    *,
    rule_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[Row[Any]]:
    """Deliveries, newest first, with their rule's name; optionally of one rule or status."""
    d = alert_deliveries.c
    query = (
        select(alert_deliveries, alert_rules.c.name.label("rule_name"))
        .outerjoin(alert_rules, alert_rules.c.id == d.rule_id)
        .order_by(d.id.desc())
        .limit(min(limit, MAX_HISTORY))
    )
    if rule_id is not None:
        query = query.where(d.rule_id == rule_id)
    if status is not None:
        query = query.where(d.status == check_status(status, DELIVERY_STATUSES, "delivery"))
    return list(connection.execute(query))


def delivery_counts(connection: Connection) -> dict[str, int]:
    """Deliveries per status (every status named, zero included)."""
    d = alert_deliveries.c
    rows = connection.execute(select(d.status, func.count()).group_by(d.status))
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in DELIVERY_STATUSES}


def failing_channels(connection: Connection) -> list[Row[Any]]:
    """Channels whose last attempt failed, oldest failure first."""
    ch = alert_channels.c
    query = select(alert_channels).where(ch.failing_since.is_not(None)).order_by(ch.failing_since)
    return list(connection.execute(query))


def oldest_due(connection: Connection, now: datetime) -> datetime | None:
    """The earliest due time of a pending delivery that is due now (None: nothing is due)."""
    d = alert_deliveries.c
    query = select(func.min(d.next_attempt_at)).where(
        d.status == "pending", d.next_attempt_at <= now
    )
    result: datetime | None = connection.execute(query).scalar()
    return result
