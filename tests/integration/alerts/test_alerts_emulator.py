"""Alerts end to end in one process: the emulator's world crawled, analyzed and alerted, then
crawled again after it moved on; a receiver that fails for a while gets everything in the end.

The oracle is independent of vkpipe's matching: every stored comment whose text has a form of
«мэр» must reach the webhook for the instant rule, each delivery id once in the receiver's
deduplicated view and each comment in exactly one delivery; every comment VK deleted after
the first crawl must reach the deleted rule's webhook.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from alertreceivers import WEBHOOK_SECRET, WebhookReceiver, serving
from analysisdata import add_rule
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.channels import Sender
from parser_pipeline.alerts.delivery import run_alerts
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.analyze.service import RuleCache, analyze_comments
from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.crawl.runner import crawl_groups
from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store import groups as group_store
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import vk_comments
from parser_pipeline.vk.client import VkClient
from truthcheck import CHECK_EVERY_CRAWL

TOKENS = ("alerts-token-a", "alerts-token-b")
MAYOR = re.compile(r"\bмэр(а|у|ом|е)?\b", re.IGNORECASE)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    config = EmulatorConfig(scenario="small", seed=5, tokens=TOKENS, rate_limit_per_second=None)
    with run_emulator(config) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Iterator[VkClient]:
    settings = load_settings(
        vk_api_url=emulator.base_url, vk_tokens=",".join(TOKENS), vk_rps_per_token=100
    )
    vk = VkClient.from_settings(settings)
    yield vk
    vk.close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving(receiver):
        yield receiver


class Clock:
    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return max(self.moment, datetime.now(UTC))


def _crawl(engine: Engine, client: VkClient) -> None:
    with engine.connect() as connection:
        rows = group_store.list_groups(connection)
    report = crawl_groups(engine, client, rows, policy=CHECK_EVERY_CRAWL)
    assert report.ok
    analyze_comments(engine, cache=RuleCache())


def _comments(
    engine: Engine, *, deleted: bool = False, pattern: re.Pattern[str] | None = MAYOR
) -> list[tuple[int, int]]:
    c = vk_comments.c
    query = select(c.owner_id, c.comment_id, c.text, c.first_seen_at, c.updated_at)
    with engine.connect() as connection:
        rows = list(connection.execute(query.where(c.is_deleted) if deleted else query))
    if deleted:  # deleted after it was first seen alive
        rows = [r for r in rows if r.updated_at > r.first_seen_at]
    return sorted(
        (r.owner_id, r.comment_id) for r in rows if pattern is None or pattern.search(r.text)
    )


def _add_rules(engine: Engine, url: str) -> None:
    add_rule(engine, "мэр")
    # The instant rule watches the mayor; the deleted rule every comment of the groups.
    for name, mode, watched in (
        ("mayor", "instant", {"keywords": ["мэр"]}),
        ("gone", "deleted", {}),
    ):
        spec = AlertRuleSpec.model_validate(
            {"name": name, "mode": mode, "filter": watched,
             "channels": [{"kind": "webhook", "target": f"{url}/{name}"}]}
        )  # fmt: skip
        with transaction(engine) as connection:
            alert_store.add_rule(connection, spec, datetime.now(UTC))


def _delivered(receiver: WebhookReceiver, kind: str) -> list[tuple[int, int]]:
    return sorted(
        (c["owner_id"], c["comment_id"])
        for payload in receiver.by_id.values()
        if payload["type"] == f"alert.{kind}"
        for c in payload["data"]["comments"]
    )


def _drain(engine: Engine, clock: Clock, rounds: int = 40) -> None:
    """Alert passes with time moving on, until nothing is pending (the retries are due)."""
    settings = load_settings(alerts_webhook_secrets=WEBHOOK_SECRET)
    sender = Sender(settings)
    for _ in range(rounds):
        run_alerts(engine, settings, sender, clock=clock)
        with engine.connect() as connection:
            if alert_store.delivery_counts(connection)["pending"] == 0:
                return
        clock.moment = clock() + timedelta(minutes=30)
    raise AssertionError("deliveries still pending")


def test_every_matching_comment_is_delivered_once_across_crawls(
    engine: Engine, client: VkClient, emulator: Emulator, webhook: WebhookReceiver
) -> None:
    names = sorted(emulator.world.group_screen_names())
    register_groups(engine, client, [(n, CrawlSettings()) for n in names])
    _add_rules(engine, webhook.url)
    clock = Clock()

    _crawl(engine, client)
    _drain(engine, clock)
    first = _comments(engine)
    assert first, "the world has comments about the mayor"
    assert _delivered(webhook, "instant") == first

    emulator.advance(pairs=4)
    # The receiver answers 500 to the next dozen requests: the incremental crawl's alerts and
    # the deletions wait, retried with backoff, and arrive once it recovers.
    webhook.behaviour.fail(500, 12)
    _crawl(engine, client)
    _drain(engine, clock)

    everything = _comments(engine)
    assert len(everything) > len(first)
    delivered = _delivered(webhook, "instant")
    assert delivered == everything  # every matching comment, none twice across deliveries
    assert len(webhook.received) == len(set(webhook.received))  # each delivery id once
    assert webhook.requests >= len(webhook.received) + 12  # the failures were retried
    gone = _comments(engine, deleted=True, pattern=None)
    assert gone, "the world deleted comments as it moved on"
    assert _delivered(webhook, "deleted") == gone
    assert webhook.bad_signatures == 0
    with engine.connect() as connection:
        counts = alert_store.delivery_counts(connection)
    assert counts["dead"] == 0
    assert counts["delivered"] == len(webhook.by_id)
    assert max(Counter(delivered).values()) == 1
