"""A notify worker killed with SIGKILL while a webhook delivery is in flight: once its lease
ends another worker sends it again, with the same delivery id, and in the receiver's
deduplicated view every comment naming the mayor arrives exactly once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from alertreceivers import WEBHOOK_SECRET, WebhookReceiver, serving
from analysisdata import add_rule
from fleet import Fleet, wait_for
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.rules import AlertRuleSpec
from parser_pipeline.emulator import Emulator
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import alert_deliveries, vk_comments
from private_servers import RedisServer
from reliability_kit import crawl_setup, finish

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

MAYOR = re.compile(r"\bмэр(а|у|ом|е)?\b", re.IGNORECASE)
# A killed worker's claim is taken over after this (the default is two minutes).
LEASE_SECONDS = "3"


def test_notify_worker_killed_mid_delivery(
    postgres_url: str,
    private_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
) -> None:
    receiver = WebhookReceiver()
    with serving(receiver) as url:
        crawl = crawl_setup(
            postgres_url, private_redis, emulators, fleets,
            VKPIPE_ALERTS_WEBHOOK_SECRETS=WEBHOOK_SECRET,
            VKPIPE_ALERTS_LEASE_SECONDS=LEASE_SECONDS,
        )  # fmt: skip
        engine, fleet = crawl.engine, crawl.fleet
        add_rule(engine, "мэр")
        spec = AlertRuleSpec.model_validate(
            {"name": "mayor", "filter": {"keywords": ["мэр"]},
             "channels": [{"kind": "webhook", "target": f"{url}/hook"}]}
        )  # fmt: skip
        with transaction(engine) as connection:
            alert_store.add_rule(connection, spec, datetime.now(UTC))

        receiver.hold.set()
        fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "4")
        fleet.worker("misc", "dispatch,analyze,export", "-P", "threads", "-c", "2")
        fleet.worker("notify1", "notify", "-P", "threads", "-c", "2")
        fleet.beat()
        wait_for(lambda: receiver.in_flight >= 1, "a webhook delivery in flight", fleet)
        fleet.kill("notify1")
        receiver.release.set()
        receiver.hold.clear()
        fleet.worker("notify2", "notify", "-P", "threads", "-c", "2")

        finish(crawl, "the crawl to finish")
        with engine.connect() as connection:
            rows = connection.execute(select(vk_comments.c.owner_id, vk_comments.c.comment_id,
                                             vk_comments.c.text))  # fmt: skip
            expected = sorted((r.owner_id, r.comment_id) for r in rows if MAYOR.search(r.text))
        assert expected, "the world has comments about the mayor"

        def all_delivered() -> bool:
            with engine.connect() as connection:
                pending = alert_store.delivery_counts(connection)["pending"]
            return pending == 0 and receiver.comment_keys() == expected

        wait_for(all_delivered, "every alert delivered", fleet)
        fleet.stop()

    # The deduplicated view: each comment in one delivery; the kill cost a resend at most.
    assert max(Counter(receiver.comment_keys()).values()) == 1
    assert receiver.bad_signatures == 0
    with engine.connect() as connection:
        attempts = connection.execute(select(func.max(alert_deliveries.c.attempts))).scalar_one()
    assert attempts >= 2, "the delivery cut by the kill was sent again"
    resent = [i for i, n in Counter(receiver.received).items() if n > 1]
    assert len(resent) <= 2, "only what the killed worker held came twice"
    engine.dispose()
