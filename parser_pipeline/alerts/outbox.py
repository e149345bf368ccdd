"""The outbox: what each rule must send, written as rows in the transaction that found it.

`record_new_matches` runs inside the analyze stage's batch transaction (the same one that
stores the matches), for the instant rules: the batch's comments that a rule's filter selects
and that it has not seen yet become messages (grouped, `decisions.group_instant`), one
`alert_deliveries` row per message and channel, with a delivery id that stays the same through
every retry. `alert_seen` makes this idempotent: a batch analyzed twice, or a comment analyzed
again after its text changed, is not sent twice. `sweep` does the same, periodically, for the
rules that watch time rather than arrivals: deleted comments, digests and spikes.
A rule sends nothing about comments stored before its `starts_at` (its creation, or `--since`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import structlog
from sqlalchemy import Connection, Row, exists, func, select, update

from parser_pipeline.alerts.decisions import (
    Ranked,
    detect_spike,
    digest_due,
    group_instant,
    hourly_counts,
    send_at,
    top_items,
)
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.errors import ConfigError, NotFoundError
from parser_pipeline.export.rows import comment_url
from parser_pipeline.store.comment_filter import where
from parser_pipeline.store.comments import beside
from parser_pipeline.store.engine import for_update
from parser_pipeline.store.keys import KEYS_PER_QUERY, keys_in
from parser_pipeline.store.names import AlertMode
from parser_pipeline.store.schema import (
    alert_deliveries,
    alert_rules,
    alert_seen,
    vk_comments,
)
from parser_pipeline.store.writes import chunks, upsert_insert

log = structlog.get_logger(__name__)

# Deleted comments one sweep sends per rule at most; the next sweep takes the rest.
DELETED_PER_SWEEP: Final = 1000
# Comments a digest or spike reads to rank its top items and count its hours: a window's worth
# for a busy rule. Counts above it are exact (SQL), the ranking then looks at the newest ones.
RANKED_ROWS: Final = 5000

_c = vk_comments.c
_COLUMNS = (
    _c.owner_id,
    _c.comment_id,
    _c.post_id,
    _c.parent_comment_id,
    _c.from_id,
    _c.date,
    _c.text,
    _c.likes_count,
    _c.is_deleted,
    _c.matched_keywords_count,
    _c.first_seen_at,
)


@dataclass(frozen=True, slots=True)
class StoredRule:
    """A rule row with its spec validated."""

    id: int
    spec: AlertRuleSpec
    starts_at: datetime
    last_fired_at: datetime | None


def active_rules(
    connection: Connection, modes: Sequence[AlertMode], *, lock: bool = False
) -> list[StoredRule]:
    """The rules that are not paused, of these modes; one that no longer validates is logged
    and skipped (the analyze stage must not fail for a broken rule). `lock`: rows another
    sweep holds are skipped (PostgreSQL), so parallel sweeps never write one digest twice."""
    r = alert_rules.c
    query = select(alert_rules).where(~r.is_paused, r.mode.in_([m.value for m in modes]))
    query = query.order_by(r.id)
    if lock:
        query = for_update(connection, query, skip_locked=True)
    rows = connection.execute(query)
    found: list[StoredRule] = []
    for row in rows:
        try:
            found.append(StoredRule(row.id, AlertRuleSpec.from_row(row), row.starts_at,
                                    row.last_fired_at))  # fmt: skip
        except ConfigError as exc:
            log.warning("alerts.rule_invalid", rule_id=row.id, error=str(exc))
    return found


def _rule_where(connection: Connection, rule: StoredRule) -> list[Any] | None:
    try:
        return where(connection, rule.spec.filter)
    except NotFoundError as exc:  # a keyword the rule names was removed
        log.warning("alerts.rule_filter_broken", rule_id=rule.id, error=str(exc))
        return None


def _not_seen(rule_id: int) -> Any:
    s = alert_seen.c
    return ~exists().where(
        s.rule_id == rule_id, s.owner_id == _c.owner_id, s.comment_id == _c.comment_id
    )


def _mark_seen(
    connection: Connection, rule_id: int, rows: Sequence[Row[Any]], now: datetime
) -> None:
    values = [
        {"rule_id": rule_id, "owner_id": r.owner_id, "comment_id": r.comment_id, "seen_at": now}
        for r in rows
    ]
    for chunk in chunks(values):
        connection.execute(
            upsert_insert(connection, alert_seen).on_conflict_do_nothing(), list(chunk)
        )


# ---- payloads -----------------------------------------------------------------------------------


def comment_items(connection: Connection, rows: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """The comments as a message lists them: link, author, text, matched keywords."""
    shown = beside(connection, rows)
    phrases = {
        key: {m.phrase for m in matches if not m.is_exclusion}
        for key, matches in shown.matches.items()
    }
    names = {author_id: a.name for author_id, a in shown.authors.items() if a.name}
    return [
        {
            "owner_id": r.owner_id,
            "comment_id": r.comment_id,
            "post_id": r.post_id,
            "url": comment_url(r.owner_id, r.post_id, r.comment_id, r.parent_comment_id),
            "author_id": r.from_id,
            "author_name": names.get(r.from_id) if r.from_id is not None else None,
            "date": r.date.isoformat(),
            "text": r.text,
            "likes": r.likes_count,
            "is_deleted": bool(r.is_deleted),
            "matched_keywords": sorted(phrases.get((r.owner_id, r.comment_id), ())),
        }
        for r in rows
    ]


def _payload(rule: StoredRule, kind: str, now: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The Standard Webhooks shape: type, timestamp, data (the channels render from it)."""
    head = {"rule": {"id": rule.id, "name": rule.spec.name, "mode": rule.spec.mode.value}}
    return {"type": f"alert.{kind}", "timestamp": now.isoformat(), "data": {**head, **data}}


def write_message(
    connection: Connection,
    rule: StoredRule,
    payload: dict[str, Any],
    *,
    now: datetime,
    first_stored_at: datetime | None,
) -> int:
    """One delivery row per channel of the rule, due after its quiet hours and cooldown; the
    rule's last firing moves to now. Returns the rows written."""
    due = send_at(
        now,
        quiet=rule.spec.quiet,
        last_fired=rule.last_fired_at,
        cooldown_seconds=rule.spec.cooldown_seconds,
    )
    rows = [
        {
            "delivery_id": f"msg_{uuid.uuid4().hex}",
            "rule_id": rule.id,
            "channel": channel.kind.value,
            "target": channel.target,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "first_stored_at": first_stored_at,
            "next_attempt_at": due,
        }
        for channel in rule.spec.channels
    ]
    connection.execute(alert_deliveries.insert(), rows)
    connection.execute(
        update(alert_rules).where(alert_rules.c.id == rule.id).values(last_fired_at=now)
    )
    return len(rows)


def _send_comments(
    connection: Connection, rule: StoredRule, kind: str, rows: Sequence[Row[Any]], now: datetime
) -> int:
    """Mark `rows` seen by the rule and write them as grouped messages."""
    _mark_seen(connection, rule.id, rows, now)
    written = 0
    for group in group_instant(list(rows)):
        payload = _payload(
            rule, kind, now, {"count": len(group), "comments": comment_items(connection, group)}
        )
        first = min(r.first_seen_at for r in group)
        written += write_message(connection, rule, payload, now=now, first_stored_at=first)
        rule = StoredRule(rule.id, rule.spec, rule.starts_at, now)
    return written


# ---- instant: inside the analyze transaction ---------------------------------------------------


def record_new_matches(
    connection: Connection, keys: Sequence[tuple[int, int]], now: datetime
) -> int:
    """Outbox rows for the instant rules that select some of these (just analyzed) comments
    and have not seen them; call in the transaction that stored their matches. Returns the
    delivery rows written."""
    if not keys:
        return 0
    rules = active_rules(connection, [AlertMode.instant])
    written = 0
    for rule in rules:
        conditions = _rule_where(connection, rule)
        if conditions is None:
            continue
        found: list[Row[Any]] = []
        for chunk in chunks(sorted(keys), KEYS_PER_QUERY):
            query = (
                select(*_COLUMNS)
                .where(keys_in((_c.owner_id, _c.comment_id), chunk))
                .where(_c.first_seen_at >= rule.starts_at, _not_seen(rule.id), *conditions)
                .order_by(_c.owner_id, _c.comment_id)
            )
            found.extend(connection.execute(query))
        if found:
            written += _send_comments(connection, rule, "instant", found, now)
    if written:
        log.info("alerts.outbox_written", deliveries=written, comments=len(keys))
    return written


def backfill_instant(connection: Connection, rule_id: int, now: datetime) -> int:
    """Outbox rows for what an instant rule added with `--since` owes already: the comments
    stored since its start that were analyzed before it existed (the analyze stage sends the
    rest). Call in the transaction that stores the rule. Returns the delivery rows written."""
    (rule,) = [r for r in active_rules(connection, [AlertMode.instant]) if r.id == rule_id]
    conditions = _rule_where(connection, rule)
    if conditions is None:
        return 0
    query = (
        select(*_COLUMNS)
        .where(_c.analyzed_at.is_not(None), _c.first_seen_at >= rule.starts_at, *conditions)
        .order_by(_c.first_seen_at, _c.owner_id, _c.comment_id)
    )
    rows = list(connection.execute(query))
    return _send_comments(connection, rule, "instant", rows, now) if rows else 0


# ---- deleted, digest, spike: a periodic sweep ----------------------------------------------------


def sweep(connection: Connection, now: datetime) -> int:
    """Outbox rows for the deleted, digest and spike rules that have something to say now."""
    written = 0
    modes = [AlertMode.deleted, AlertMode.digest, AlertMode.spike]
    for rule in active_rules(connection, modes, lock=True):
        conditions = _rule_where(connection, rule)
        if conditions is None:
            continue
        if rule.spec.mode is AlertMode.deleted:
            written += _sweep_deleted(connection, rule, conditions, now)
        elif rule.spec.mode is AlertMode.digest:
            written += _sweep_digest(connection, rule, conditions, now)
        else:
            written += _sweep_spike(connection, rule, conditions, now)
    return written


def _sweep_deleted(
    connection: Connection, rule: StoredRule, conditions: list[Any], now: datetime
) -> int:
    """Watched comments (the filter's) that VK deleted since the rule started."""
    query = (
        select(*_COLUMNS)
        .where(_c.is_deleted, _c.updated_at >= rule.starts_at, _not_seen(rule.id), *conditions)
        # seen alive first: a comment stored already deleted never "disappeared" under our eyes
        .where(_c.updated_at > _c.first_seen_at)
        .order_by(_c.owner_id, _c.comment_id)
        .limit(DELETED_PER_SWEEP)
    )
    rows = list(connection.execute(query))
    return _send_comments(connection, rule, "deleted", rows, now) if rows else 0


def _ranked(row: Row[Any]) -> Ranked:
    return Ranked(row.matched_keywords_count, row.likes_count, row.date)


def _window_rows(
    connection: Connection, conditions: list[Any], column: Any, since: datetime, until: datetime
) -> tuple[int, list[Row[Any]]]:
    bounds = (column >= since, column < until, *conditions)
    count = connection.execute(select(func.count()).select_from(vk_comments).where(*bounds))
    query = select(*_COLUMNS).where(*bounds).order_by(column.desc()).limit(RANKED_ROWS)
    return int(count.scalar_one()), list(connection.execute(query))


def _sweep_digest(
    connection: Connection, rule: StoredRule, conditions: list[Any], now: datetime
) -> int:
    """A digest of the comments stored since the last one, if due and there are enough."""
    spec = rule.spec
    last = max(rule.last_fired_at or rule.starts_at, rule.starts_at)
    if not digest_due(now, last, every_minutes=spec.every_minutes, at=spec.options.at):
        return 0
    count, rows = _window_rows(connection, conditions, _c.first_seen_at, last, now)
    connection.execute(
        update(alert_rules).where(alert_rules.c.id == rule.id).values(last_fired_at=now)
    )
    if count < spec.min_count:
        log.info("alerts.digest_skipped", rule_id=rule.id, count=count, min_count=spec.min_count)
        return 0
    top = top_items(rows, _ranked, spec.options.top)
    data = {
        "count": count,
        "since": last.isoformat(),
        "until": now.isoformat(),
        "comments": comment_items(connection, top),
    }
    first = min(r.first_seen_at for r in rows) if rows else None
    # The digest's own period is its pacing: quiet hours apply, the cooldown does not.
    paced = StoredRule(rule.id, spec, rule.starts_at, None)
    return write_message(
        connection, paced, _payload(rule, "digest", now, data), now=now, first_stored_at=first
    )


def _sweep_spike(
    connection: Connection, rule: StoredRule, conditions: list[Any], now: datetime
) -> int:
    """A spike: this hour's comments (by their VK date) above the trailing mean + k·σ."""
    spec = rule.spec
    if rule.last_fired_at is not None and now - rule.last_fired_at < timedelta(
        seconds=spec.spike_cooldown_seconds
    ):
        return 0
    hours = spec.options.window_hours
    since = now - timedelta(hours=hours + 1)
    query = select(_c.date).where(_c.date >= since, _c.date <= now, *conditions)
    moments = list(connection.execute(query).scalars())
    history, current = hourly_counts(moments, now, hours)
    verdict = detect_spike(history, current, k=spec.options.k, min_count=spec.min_count)
    if not verdict.is_spike:
        return 0
    _, rows = _window_rows(connection, conditions, _c.date, now - timedelta(hours=1), now)
    data = {
        "count": verdict.current,
        "mean": round(verdict.mean, 3),
        "sigma": round(verdict.sigma, 3),
        "threshold": round(verdict.threshold, 3),
        "window_hours": hours,
        "comments": comment_items(connection, top_items(rows, _ranked, spec.options.top)),
    }
    first = min((r.first_seen_at for r in rows), default=None)
    log.info("alerts.spike", rule_id=rule.id, count=verdict.current, threshold=verdict.threshold)
    return write_message(
        connection, rule, _payload(rule, "spike", now, data), now=now, first_stored_at=first
    )
