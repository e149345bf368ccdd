"""The alert outbox on SQLite and PostgreSQL: written with the matches, once per comment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from analysisdata import NOW, OWNER, add_rule, comment, store_comments
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.outbox import sweep
from parser_pipeline.alerts.rules import AlertRuleSpec, Channel
from parser_pipeline.analyze.service import RuleCache, analyze_comments
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import alert_deliveries
from parser_pipeline.store.writes import mark_comments_deleted

HOOK = Channel.parse("webhook:http://127.0.0.1:9/hook")
CHAT = Channel.parse("telegram:-1001234567")


def rule(name: str, **fields: Any) -> AlertRuleSpec:
    fields.setdefault("channels", (HOOK,))
    fields.setdefault("filter", {"matched_only": True})
    return AlertRuleSpec.model_validate({"name": name, **fields})


def add(engine: Engine, spec: AlertRuleSpec, *, since: Any = NOW - timedelta(hours=1)) -> int:
    with transaction(engine) as connection:
        return int(alert_store.add_rule(connection, spec, NOW, since=since).id)


def deliveries(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(alert_deliveries).order_by(alert_deliveries.c.id)))


def commented(rows: list[Any]) -> list[int]:
    return sorted(c["comment_id"] for r in rows for c in r.payload["data"]["comments"])


def test_instant_rule_gets_one_grouped_message_per_channel_once(engine: Engine) -> None:
    add_rule(engine, "мэр")
    store_comments(engine, [comment(1, "мэр опять"), comment(2, "ничего"), comment(3, "мэра")])
    add(engine, rule("mayor", channels=(HOOK, CHAT)))
    summary = analyze_comments(engine, cache=RuleCache())
    rows = deliveries(engine)
    assert summary.alerts == 2
    assert [r.channel for r in rows] == ["webhook", "telegram"]
    assert commented(rows[:1]) == [1, 3]
    assert rows[0].payload["data"]["comments"][0]["matched_keywords"] == ["мэр"]
    assert rows[0].payload["data"]["comments"][0]["url"].startswith(f"https://vk.com/wall{OWNER}_1")
    assert rows[0].first_stored_at == NOW
    assert len({r.delivery_id for r in rows}) == 2
    # Analyzed again (a changed text, a rematch): the rule has seen them, nothing new is owed.
    analyze_comments(engine, [(OWNER, 1), (OWNER, 3)], cache=RuleCache())
    assert len(deliveries(engine)) == 2


def test_a_rule_starts_from_now_not_from_history(engine: Engine) -> None:
    add_rule(engine, "мэр")
    store_comments(engine, [comment(1, "мэр опять")])
    add(engine, rule("mayor"), since=None)  # starts at NOW, after the comment was stored
    # A starts_at one second later than the comment's first_seen_at.
    with transaction(engine) as connection:
        alert_store.set_paused(connection, "mayor", True, NOW)
        alert_store.set_paused(connection, "mayor", False, NOW + timedelta(seconds=1))
    analyze_comments(engine, cache=RuleCache())
    assert deliveries(engine) == []


def test_paused_rule_sends_nothing(engine: Engine) -> None:
    add_rule(engine, "мэр")
    add(engine, rule("mayor"))
    with transaction(engine) as connection:
        alert_store.set_paused(connection, "mayor", True, NOW)
    store_comments(engine, [comment(1, "мэр опять")])
    analyze_comments(engine, cache=RuleCache())
    assert deliveries(engine) == []


def test_deleted_rule_reports_a_watched_comment_once(engine: Engine) -> None:
    # comment 3 was already deleted when first stored: it never disappeared under our eyes
    add_rule(engine, "мэр")
    gone_before = {**comment(3, "мэр"), "is_deleted": True}
    store_comments(engine, [comment(1, "мэр опять"), comment(2, "ничего"), gone_before])
    analyze_comments(engine, cache=RuleCache())
    add(engine, rule("gone", mode="deleted"))
    with transaction(engine) as connection:
        assert sweep(connection, NOW) == 0
        mark_comments_deleted(connection, OWNER, [1, 2], NOW + timedelta(minutes=1))
    with transaction(engine) as connection:
        assert sweep(connection, NOW + timedelta(minutes=2)) == 1
        assert sweep(connection, NOW + timedelta(minutes=3)) == 0
    rows = deliveries(engine)
    assert commented(rows) == [1]
    assert rows[0].payload["type"] == "alert.deleted"


def test_digest_counts_the_period_and_lists_the_top(engine: Engine) -> None:
    add_rule(engine, "мэр")
    store_comments(engine, [comment(i, "мэр " * i) for i in range(1, 6)])
    analyze_comments(engine, cache=RuleCache())
    spec = rule("daily", mode="digest", options={"every_minutes": 60, "top": 2, "min_count": 3})
    add(engine, spec)
    with transaction(engine) as connection:
        assert sweep(connection, NOW - timedelta(minutes=1)) == 0  # not due yet
        assert sweep(connection, NOW + timedelta(seconds=1)) == 1
        assert sweep(connection, NOW + timedelta(minutes=2)) == 0  # the next one is an hour on
    (row,) = deliveries(engine)
    assert row.payload["data"]["count"] == 5
    assert len(row.payload["data"]["comments"]) == 2


def test_digest_below_its_minimum_sends_nothing(engine: Engine) -> None:
    add_rule(engine, "мэр")
    store_comments(engine, [comment(1, "мэр")])
    analyze_comments(engine, cache=RuleCache())
    add(engine, rule("daily", mode="digest", options={"min_count": 2}))
    with transaction(engine) as connection:
        assert sweep(connection, NOW + timedelta(hours=1)) == 0
    assert deliveries(engine) == []


def test_spike_fires_once_within_its_cooldown(engine: Engine) -> None:
    add_rule(engine, "мэр")
    now = NOW + timedelta(minutes=30)
    quiet_hours = [
        comment(100 + h, "мэр", date=now - timedelta(hours=h, minutes=5)) for h in range(1, 7)
    ]
    burst = [comment(200 + i, "мэр", date=now - timedelta(minutes=i + 1)) for i in range(6)]
    store_comments(engine, quiet_hours + burst)
    analyze_comments(engine, cache=RuleCache())
    add(engine, rule("burst", mode="spike", options={"window_hours": 6, "k": 3, "min_count": 5}))
    with transaction(engine) as connection:
        assert sweep(connection, now) == 1
        assert sweep(connection, now + timedelta(minutes=10)) == 0  # cooldown
    (row,) = deliveries(engine)
    data = row.payload["data"]
    assert (data["count"], data["mean"], data["sigma"]) == (6, 1.0, 0.0)


def test_since_sends_what_was_stored_since_then_at_once(engine: Engine) -> None:
    add_rule(engine, "мэр")
    store_comments(engine, [comment(1, "мэр опять"), comment(2, "ничего"), comment(3, "мэра")])
    analyze_comments(engine, cache=RuleCache())
    with transaction(engine) as connection:  # from now: what is stored already is not sent
        alert_store.add_rule(connection, rule("now"), NOW + timedelta(hours=1))
    assert deliveries(engine) == []
    add(engine, rule("since"), since=NOW - timedelta(minutes=1))
    rows = deliveries(engine)
    assert commented(rows) == [1, 3]
    analyze_comments(engine, [(OWNER, 1), (OWNER, 3)], cache=RuleCache())
    assert len(deliveries(engine)) == 1  # seen: the analyze stage does not send them again
