"""Delivering the outbox to local receivers: signed webhooks, Telegram, email; retries, holds,
the dead letter, a failing channel reported once. Time moves by an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from structlog.testing import capture_logs

from alertreceivers import (
    BOT_TOKEN,
    OTHER_SECRET,
    WEBHOOK_SECRET,
    FakeTelegram,
    WebhookReceiver,
    self_signed,
    serving,
    smtp_server,
)
from analysisdata import NOW, add_rule, comment, store_comments
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.channels import Sender
from parser_pipeline.alerts.delivery import deliver_due
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.analyze.service import RuleCache, analyze_comments
from parser_pipeline.settings import Settings, load_settings
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import alert_deliveries


class Clock:
    """Now, moved on by hand."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving(receiver):
        yield receiver


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    api = FakeTelegram()
    with serving(api):
        yield api


def settings_for(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"alerts_webhook_secrets": WEBHOOK_SECRET}
    values.update(overrides)
    return load_settings(**values)


def add(engine: Engine, name: str, channels: list[str], **fields: Any) -> None:
    spec = AlertRuleSpec.model_validate(
        {"name": name, "channels": [dict(zip(("kind", "target"), c.split(":", 1), strict=True))
                                    for c in channels],
         "filter": {"matched_only": True}, **fields}
    )  # fmt: skip
    with transaction(engine) as connection:
        alert_store.add_rule(connection, spec, NOW, since=NOW - timedelta(hours=1))


def store_matches(engine: Engine, count: int, start: int = 1) -> None:
    store_comments(engine, [comment(i, f"мэр номер {i}") for i in range(start, start + count)])
    analyze_comments(engine, cache=RuleCache())


def statuses(engine: Engine) -> list[tuple[str, int]]:
    d = alert_deliveries.c
    with engine.connect() as connection:
        return [
            (r.status, r.attempts)
            for r in connection.execute(select(d.status, d.attempts).order_by(d.id))
        ]


def test_each_channel_gets_the_alert(
    engine: Engine, webhook: WebhookReceiver, telegram: FakeTelegram
) -> None:
    add_rule(engine, "мэр")
    with smtp_server() as (port, mails):
        add(
            engine,
            "all",
            [f"webhook:{webhook.url}/hook", "telegram:-1001234567", "email:ops@example.org"],
        )
        store_matches(engine, 3)
        settings = settings_for(
            alerts_telegram_bot_token=BOT_TOKEN,
            alerts_telegram_api_url=telegram.url,
            alerts_smtp_host="127.0.0.1",
            alerts_smtp_port=port,
            alerts_smtp_security="none",
        )
        summary = deliver_due(engine, settings, Sender(settings))
        assert (summary.delivered, summary.failed) == (3, 0)
        (mail,) = mails
    assert webhook.bad_signatures == 0
    (payload,) = webhook.by_id.values()
    assert (payload["type"], payload["data"]["count"]) == ("alert.instant", 3)
    assert [c["comment_id"] for c in payload["data"]["comments"]] == [1, 2, 3]
    ((chat, text),) = telegram.messages
    assert chat == "-1001234567"
    assert "мэр номер 2" in text
    assert "мэр номер 3" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<li>" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert statuses(engine) == [("delivered", 1)] * 3
    assert deliver_due(engine, settings, Sender(settings)).delivered == 0  # nothing twice


def test_rotated_secrets_both_verify(engine: Engine) -> None:
    add_rule(engine, "мэр")
    old, new = WebhookReceiver(WEBHOOK_SECRET), WebhookReceiver(OTHER_SECRET)
    with serving(old), serving(new):
        add(engine, "two", [f"webhook:{old.url}/a", f"webhook:{new.url}/b"])
        store_matches(engine, 1)
        settings = settings_for(alerts_webhook_secrets=f"{WEBHOOK_SECRET},{OTHER_SECRET}")
        assert deliver_due(engine, settings, Sender(settings)).delivered == 2
    assert (old.bad_signatures, new.bad_signatures) == (0, 0)
    assert len(old.by_id) == len(new.by_id) == 1


def test_a_receiver_down_for_a_while_gets_everything_once_it_recovers(
    engine: Engine, webhook: WebhookReceiver
) -> None:
    add_rule(engine, "мэр")
    add(engine, "down", [f"webhook:{webhook.url}/hook"])
    clock, settings = Clock(), settings_for()
    webhook.behaviour.fail(500, None)
    with capture_logs() as logs:
        for batch in range(3):  # three messages, each retried several times while it is down
            store_matches(engine, 2, start=1 + 2 * batch)
            for _ in range(4):
                deliver_due(engine, settings, Sender(settings), clock=clock)
                clock.advance(120)
        webhook.behaviour.fail(200, 0)
        clock.advance(3600)
        summary = deliver_due(engine, settings, Sender(settings), clock=clock)
    assert summary.delivered == 3
    assert webhook.comment_keys() == sorted((-100, i) for i in range(1, 7))
    assert len(webhook.received) == len(set(webhook.received)) == 3
    events = [e["event"] for e in logs]
    assert events.count("alerts.channel_failing") == 1
    assert events.count("alerts.channel_recovered") == 1
    assert all(status == "delivered" and attempts > 1 for status, attempts in statuses(engine))


def test_a_delivery_that_fails_past_its_max_age_is_dead_lettered(
    engine: Engine, webhook: WebhookReceiver
) -> None:
    add_rule(engine, "мэр")
    add(engine, "dead", [f"webhook:{webhook.url}/hook"])
    store_matches(engine, 1)
    clock, settings = Clock(), settings_for(alerts_max_age_seconds=600)
    webhook.behaviour.fail(503, None)
    with capture_logs() as logs:
        for _ in range(30):
            deliver_due(engine, settings, Sender(settings), clock=clock)
            clock.advance(60)
    ((status, attempts),) = statuses(engine)
    assert status == "dead"
    assert attempts > 1
    assert [e["event"] for e in logs].count("alerts.dead_lettered") == 1
    with engine.connect() as connection:
        (row,) = alert_store.history(connection, status="dead")
        assert row.last_error == "webhook: HTTP 503"
        assert alert_store.delivery_counts(connection)["dead"] == 1


def test_telegram_429_holds_the_channel_for_its_retry_after(
    engine: Engine, telegram: FakeTelegram
) -> None:
    add_rule(engine, "мэр")
    add(engine, "tg", ["telegram:-1001234567"])
    settings = settings_for(
        alerts_telegram_bot_token=BOT_TOKEN, alerts_telegram_api_url=telegram.url
    )
    for batch in range(3):
        store_matches(engine, 1, start=batch + 1)
    clock = Clock()
    telegram.behaviour.fail(429, 1, retry_after=30)
    first = deliver_due(engine, settings, Sender(settings), clock=clock)
    assert (first.failed, first.deferred, first.delivered) == (1, 2, 0)
    clock.advance(29)
    assert deliver_due(engine, settings, Sender(settings), clock=clock).delivered == 0
    clock.advance(2)
    assert deliver_due(engine, settings, Sender(settings), clock=clock).delivered == 3
    assert len(telegram.messages) == 3
    # the deferred rows were not charged an attempt
    assert sorted(a for _, a in statuses(engine)) == [1, 1, 2]


def test_webhook_retry_after_is_honoured(engine: Engine, webhook: WebhookReceiver) -> None:
    add_rule(engine, "мэр")
    add(engine, "ra", [f"webhook:{webhook.url}/hook"])
    store_matches(engine, 1)
    clock, settings = Clock(), settings_for()
    webhook.behaviour.fail(429, 1, retry_after=600)
    assert deliver_due(engine, settings, Sender(settings), clock=clock).failed == 1
    clock.advance(599)
    assert deliver_due(engine, settings, Sender(settings), clock=clock).delivered == 0
    clock.advance(2)
    assert deliver_due(engine, settings, Sender(settings), clock=clock).delivered == 1


def test_a_long_telegram_message_is_trimmed_with_a_link_to_the_rest(
    engine: Engine, telegram: FakeTelegram
) -> None:
    add_rule(engine, "мэр")
    add(engine, "long", ["telegram:@vkpipe_alerts"])
    store_comments(engine, [comment(i, "мэр " + "длинный текст " * 60) for i in range(1, 21)])
    analyze_comments(engine, cache=RuleCache())
    settings = settings_for(
        alerts_telegram_bot_token=BOT_TOKEN, alerts_telegram_api_url=telegram.url
    )
    assert deliver_due(engine, settings, Sender(settings)).delivered == 1
    ((_, text),) = telegram.messages
    assert len(text) <= 4096
    assert "more, from https://vk.com/wall" in text


def test_missing_channel_settings_fail_the_delivery_with_the_setting_named(
    engine: Engine, webhook: WebhookReceiver
) -> None:
    add_rule(engine, "мэр")
    add(engine, "unsigned", [f"webhook:{webhook.url}/hook"])
    store_matches(engine, 1)
    settings = load_settings()
    assert deliver_due(engine, settings, Sender(settings)).failed == 1
    with engine.connect() as connection:
        (row,) = alert_store.history(connection)
    assert "VKPIPE_ALERTS_WEBHOOK_SECRETS" in row.last_error
    assert webhook.requests == 0


# aiosmtpd warns of AUTH without STARTTLS; its TLS-from-the-start server is TLS all along.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_email_over_starttls_or_tls_logs_in_and_verifies_the_server(
    engine: Engine, security: str, tmp_path: Path
) -> None:
    add_rule(engine, "мэр")
    add(engine, "mail", ["email:ops@example.org"])
    store_matches(engine, 1)
    cert = self_signed(tmp_path)
    with smtp_server(security, cert, login=("vkpipe", "smtp-pass")) as (port, mails):
        common = {"alerts_smtp_host": "127.0.0.1", "alerts_smtp_port": port,
                  "alerts_smtp_security": security, "alerts_smtp_user": "vkpipe"}  # fmt: skip
        # A server whose certificate the system does not trust is refused, named.
        untrusted = settings_for(**common, alerts_smtp_password="smtp-pass")
        assert deliver_due(engine, untrusted, Sender(untrusted)).failed == 1
        with engine.connect() as connection:
            assert (
                alert_store.history(connection)[0].last_error == "email: SSLCertVerificationError"
            )
        assert mails == []
        wrong = settings_for(**common, alerts_smtp_password="nope", alerts_smtp_ca_file=cert[0])
        clock = Clock()
        clock.advance(3600)
        assert deliver_due(engine, wrong, Sender(wrong), clock=clock).failed == 1
        with engine.connect() as connection:
            assert alert_store.history(connection)[0].last_error == "email: SMTP 535"
        good = settings_for(**common, alerts_smtp_password="smtp-pass", alerts_smtp_ca_file=cert[0])
        clock.advance(3600)
        assert deliver_due(engine, good, Sender(good), clock=clock).delivered == 1
        (mail,) = mails
    assert mail["To"] == "ops@example.org"
    assert mail["Message-ID"].startswith("<msg_")
