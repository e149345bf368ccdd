"""What the CLI and the HTTP API do with alerts: one function per action, the same for both.

Answers never carry a secret: channels are shown by `Channel.display` (a chat id by its last
four characters, a webhook URL without its query), deliveries without their target.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Row

from parser_pipeline.alerts import store
from parser_pipeline.alerts.delivery import Sends
from parser_pipeline.alerts.rules import AlertRuleSpec, Channel
from parser_pipeline.errors import AlertDeliveryError
from parser_pipeline.store.engine import transaction

# Bytes of a new webhook signing secret (Standard Webhooks: 24 to 64).
SECRET_BYTES = 32


def new_webhook_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form, `whsec_` + base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def rule_view(row: Row[Any]) -> dict[str, Any]:
    """A rule as the CLI and the API show it (channels masked)."""
    spec = AlertRuleSpec.from_row(row)
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "mode": row.mode,
        "filter": spec.filter.model_dump(mode="json", exclude_defaults=True),
        "options": spec.options.model_dump(mode="json", exclude_none=True),
        "channels": [c.display for c in spec.channels],
        "quiet_hours": row.quiet_hours,
        "cooldown_seconds": row.cooldown_seconds,
        "paused": bool(row.is_paused),
        "starts_at": row.starts_at,
        "last_fired_at": row.last_fired_at,
        "created_at": row.created_at,
    }
    for status in ("pending", "delivered", "dead"):
        if status in row._fields:
            view.setdefault("deliveries", {})[status] = int(getattr(row, status))
    return view


def delivery_view(row: Row[Any]) -> dict[str, Any]:
    """A delivery as history shows it: no target, no payload, the channel kind only."""
    return {
        "id": row.id,
        "delivery_id": row.delivery_id,
        "rule_id": row.rule_id,
        "rule": row.rule_name,
        "channel": row.channel,
        "type": row.payload.get("type"),
        "comments": len(row.payload.get("data", {}).get("comments", [])),
        "status": row.status,
        "attempts": row.attempts,
        "created_at": row.created_at,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "delivered_at": row.delivered_at,
        "last_error": row.last_error,
    }


def add(engine: Engine, spec: AlertRuleSpec, since: datetime | None = None) -> dict[str, Any]:
    with transaction(engine) as connection:
        row = store.add_rule(connection, spec, datetime.now(UTC), since=since)
    return rule_view(row)


def list_all(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [rule_view(row) for row in store.list_rules(connection)]


def show(engine: Engine, ref: str) -> dict[str, Any]:
    with engine.connect() as connection:
        row = store.get_rule(connection, ref)
        view = next(v for v in map(rule_view, store.list_rules(connection)) if v["id"] == row.id)
        view["recent"] = [delivery_view(d) for d in store.history(connection, rule_id=row.id,
                                                                 limit=10)]  # fmt: skip
    return view


def set_paused(engine: Engine, ref: str, paused: bool) -> dict[str, Any]:
    with transaction(engine) as connection:
        return rule_view(store.set_paused(connection, ref, paused, datetime.now(UTC)))


def remove(engine: Engine, ref: str) -> dict[str, Any]:
    with transaction(engine) as connection:
        return rule_view(store.remove_rule(connection, ref))


def history(
    engine: Engine, ref: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rule_id = store.get_rule(connection, ref).id if ref else None
        rows = store.history(connection, rule_id=rule_id, status=status, limit=limit)
        return [delivery_view(row) for row in rows]


@dataclass(frozen=True, slots=True)
class TestResult:
    """One channel's answer to a test message."""

    channel: str
    ok: bool
    error: str | None


def sample_payload(rule_id: int, name: str, mode: str, now: datetime) -> dict[str, Any]:
    """A test message: one made-up comment, marked as a test."""
    comment = {
        "owner_id": -1,
        "comment_id": 1,
        "post_id": 1,
        "url": "https://vk.com/wall-1_1?reply=1",
        "author_id": 1,
        "author_name": "vkpipe",
        "date": now.isoformat(),
        "text": "A test alert from vkpipe: this channel works.",
        "likes": 0,
        "is_deleted": False,
        "matched_keywords": [],
    }
    return {
        "type": "alert.test",
        "timestamp": now.isoformat(),
        "data": {"rule": {"id": rule_id, "name": name, "mode": mode}, "count": 1,
                 "comments": [comment]},
    }  # fmt: skip


def send_test(engine: Engine, sender: Sends, ref: str) -> list[TestResult]:
    """Send a sample to each of the rule's channels now (not through the outbox)."""
    with engine.connect() as connection:
        row = store.get_rule(connection, ref)
    spec = AlertRuleSpec.from_row(row)
    payload = sample_payload(row.id, row.name, row.mode, datetime.now(UTC))
    results = []
    for channel in spec.channels:
        try:
            sender.send(channel.kind.value, channel.target, f"test_{uuid.uuid4().hex}", payload)
            results.append(TestResult(channel.display, True, None))
        except AlertDeliveryError as exc:
            results.append(TestResult(channel.display, False, str(exc)))
    return results


def parse_channels(texts: list[str]) -> tuple[Channel, ...]:
    return tuple(Channel.parse(text) for text in texts)
