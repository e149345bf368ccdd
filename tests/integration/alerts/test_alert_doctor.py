"""What `vkpipe doctor` and /metrics say about alerts: dead letters, failing channels, overdue
deliveries, channel settings missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine, insert

from alertreceivers import WEBHOOK_SECRET
from analysisdata import NOW
from parser_pipeline import gauges
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.delivery import channel_key
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.health import check_alerts
from parser_pipeline.metrics import LiveGauges
from parser_pipeline.settings import load_settings
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import alert_channels, alert_deliveries

CHAT = "-1009876543210"


def _setup(engine: Engine) -> int:
    spec = AlertRuleSpec.model_validate(
        {"name": "r", "channels": [{"kind": "telegram", "target": CHAT},
                                   {"kind": "webhook", "target": "https://h.example/x"}]}
    )  # fmt: skip
    with transaction(engine) as connection:
        rule_id = int(alert_store.add_rule(connection, spec, NOW).id)
        row = {"rule_id": rule_id, "channel": "telegram", "target": CHAT,
               "payload": {"type": "alert.instant"}, "created_at": NOW}  # fmt: skip
        connection.execute(
            insert(alert_deliveries),
            [
                {**row, "delivery_id": "msg_a", "status": "dead", "next_attempt_at": NOW},
                {**row, "delivery_id": "msg_b", "status": "pending", "next_attempt_at": NOW},
            ],
        )
        connection.execute(
            insert(alert_channels).values(
                key=channel_key("telegram", CHAT),
                channel="telegram",
                failing_since=NOW,
                last_error="telegram: HTTP 403 Forbidden",
            )
        )
    return rule_id


def test_doctor_warns_about_dead_letters_failing_channels_and_settings(engine: Engine) -> None:
    _setup(engine)
    settings = load_settings(alerts_webhook_secrets=WEBHOOK_SECRET)
    checks = {c.name: c for c in check_alerts(settings, engine, NOW + timedelta(hours=1))}
    assert checks["alerts"].detail == "1 rules; deliveries: 1 pending, 0 delivered, 1 dead"
    assert checks["alerts dead letter"].verdict == "warn"
    assert "telegram: HTTP 403 Forbidden" in checks["alerts telegram channel"].detail
    assert "notify worker" in checks["alerts overdue"].detail
    assert "VKPIPE_ALERTS_TELEGRAM_BOT_TOKEN" in checks["alerts telegram settings"].detail
    assert "alerts webhook settings" not in checks
    assert not any(c.required for c in checks.values())
    assert all(CHAT not in c.detail for c in checks.values())


def test_doctor_with_no_rules_is_ok(engine: Engine) -> None:
    (check,) = check_alerts(load_settings(), engine, datetime.now(UTC))
    assert (check.verdict, check.detail) == ("ok", "no alert rules")


def test_metrics_count_the_outbox_per_status(engine: Engine) -> None:
    _setup(engine)
    registry = CollectorRegistry()
    registry.register(
        LiveGauges(dict, lambda: None, alert_deliveries=lambda: gauges.alert_deliveries(engine))
    )
    text = generate_latest(registry).decode()
    assert 'vkpipe_alert_deliveries{status="dead"} 1.0' in text
    assert 'vkpipe_alert_deliveries{status="pending"} 1.0' in text
