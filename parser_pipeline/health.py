"""Health and dependency checks: each returns a verdict line for `vkpipe doctor` and probes."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import metadata
from typing import Any, Literal

import redis
from kombu.connection import Connection
from packaging.requirements import Requirement
from packaging.version import Version
from sqlalchemy import Engine, text

from parser_pipeline import heartbeats
from parser_pipeline.alerts import store as alert_store
from parser_pipeline.alerts.channels import check_channel_settings
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.errors import ConfigError, StorageError, VkError
from parser_pipeline.heartbeats import record_heartbeat
from parser_pipeline.settings import Settings
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import check_connection, make_engine
from parser_pipeline.store.names import ChannelKind
from parser_pipeline.vk.tokens import token_hint
from parser_pipeline.vk.transport import VkTransport, build_session

__all__ = ["Check", "healthy", "readiness", "record_heartbeat", "report", "run_checks"]

Verdict = Literal["ok", "warn", "fail", "skip"]

# Packages whose installed versions must satisfy the ranges vkpipe declares.
CHECKED_PACKAGES = ("celery", "kombu", "redis", "sqlalchemy", "psycopg", "vk-api")
# Seconds to wait for a server before calling it unreachable.
PROBE_TIMEOUT_SECONDS = 3.0
# Beat is alive when its dispatcher pass ran within this many dispatch intervals (plus slack).
BEAT_MISSED_PASSES = 3
BEAT_SLACK_SECONDS = 30.0
# The cheapest VK call a token can make; error 5 means the token is revoked or invalid.
TOKEN_PROBE = ("users.get", {"user_ids": "1"})
# Two hosts' clocks may differ by this much without a word; past it the doctor says so.
CLOCK_SKEW_SECONDS = 5.0
# A delivery due this long ago and still pending: nobody is sending (beat passes every 5 s).
ALERTS_OVERDUE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the doctor's table; a `fail` of a required check makes the exit code 1."""

    name: str
    verdict: Verdict
    detail: str
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def healthy(checks: Iterable[Check]) -> bool:
    return all(c.verdict != "fail" or not c.required for c in checks)


def _guard(name: str, probe: Callable[[], list[Check]]) -> list[Check]:
    """Run a probe; an unexpected exception becomes a failed check, never a crash of the doctor."""
    try:
        return probe()
    except Exception as exc:  # the doctor must report, whatever breaks
        return [
            Check(
                name,
                "fail",
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            )
        ]


def check_database(settings: Settings) -> list[Check]:
    def probe() -> list[Check]:
        engine = make_engine(settings.database_url)
        where = settings.database_url_for_display
        try:
            check_connection(engine)
        except StorageError as exc:
            return [Check("database", "fail", str(exc))]
        try:
            with engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    version = (
                        f"PostgreSQL {connection.execute(text('SHOW server_version')).scalar()}"
                    )
                else:
                    version = f"SQLite {sqlite3.sqlite_version}"
        finally:
            engine.dispose()
        current = migrations.current_revision(settings.database_url)
        head = migrations.head_revision()
        schema = (
            Check("migrations", "ok", f"at head {head}")
            if current == head
            else Check(
                "migrations",
                "fail",
                f"database at {current or 'base'}, code at {head}: run `vkpipe db upgrade`",
            )
        )
        return [Check("database", "ok", f"{version} at {where}"), schema]

    return _guard("database", probe)


def _redis_servers(settings: Settings) -> list[tuple[str, str]]:
    """Each distinct Redis server in use, with the roles it plays (broker, results, limiter)."""
    roles: dict[str, list[str]] = {}
    for role, url in (
        ("broker", settings.broker_url),
        ("results", settings.result_backend),
        ("limiter", settings.redis_url),
    ):
        if url and url.startswith(("redis://", "rediss://")):
            roles.setdefault(re.sub(r"/\d*$", "", url.split("?")[0]), []).append(role)
    return [("+".join(names), server) for server, names in roles.items()]


def check_redis(settings: Settings) -> list[Check]:
    checks: list[Check] = []
    for role, url in _redis_servers(settings):
        checks.extend(_guard(f"redis ({role})", partial(_redis, url, role)))
    if not checks:
        checks.append(Check("redis", "skip", "not configured (embedded mode)", required=False))
    return checks


def _redis(url: str, role: str) -> list[Check]:
    name = f"redis ({role})"
    client: redis.Redis[Any] = redis.Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
    )
    shown = url.split("@")[-1]
    try:
        info = client.info("server")
    except redis.RedisError as exc:
        return [Check(name, "fail", f"{shown} unreachable: {exc}")]
    checks = [Check(name, "ok", f"Redis {info.get('redis_version')} at {shown}")]
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy", "?")
        aof = client.config_get("appendonly").get("appendonly", "no")
        save = client.config_get("save").get("save", "")
    except redis.RedisError as exc:
        checks.append(Check(f"{name} config", "warn", f"cannot read CONFIG: {exc}", False))
        return checks
    if policy == "noeviction":
        checks.append(Check(f"{name} eviction", "ok", "maxmemory-policy noeviction"))
    else:
        checks.append(
            Check(
                f"{name} eviction",
                "warn",
                f"maxmemory-policy {policy} may evict queued messages; set noeviction",
                False,
            )
        )
    durable = aof == "yes" or bool(save.strip())
    checks.append(
        Check(
            f"{name} persistence",
            "ok" if durable else "warn",
            f"appendonly={aof} save={save!r}"
            + ("" if durable else ": a restart loses queues (the reconciler re-enqueues them)"),
            required=False,
        )
    )
    return checks


def check_broker(settings: Settings) -> list[Check]:
    if settings.embedded:
        return [
            Check(
                "broker",
                "skip",
                "embedded mode: no broker (vkpipe crawl crawls in its own process)",
                required=False,
            )
        ]

    def probe() -> list[Check]:
        url = str(settings.broker_url)
        broker = Connection(url, connect_timeout=PROBE_TIMEOUT_SECONDS)  # type: ignore[no-untyped-call]
        with broker as connection:
            connection.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
            return [Check("broker", "ok", f"reachable at {connection.as_uri()}")]

    return _guard("broker", probe)


def ago(seen: datetime, now: datetime) -> str:
    """`12 s ago`; a time ahead of this host's clock reads `just now`, with the skew if large."""
    age = (now - seen).total_seconds()
    if age >= 0:
        return f"{age:.0f} s ago"
    if -age <= CLOCK_SKEW_SECONDS:
        return "just now"
    return f"just now (this host's clock is {-age:.0f} s behind the one that wrote it)"


def check_beat(settings: Settings, engine: Engine | None, now: datetime) -> list[Check]:
    if settings.embedded:
        return [Check("beat", "skip", "embedded mode: no scheduler", required=False)]
    if engine is None:
        return [Check("beat", "fail", "unknown: the database is unreachable")]
    seen = heartbeats.last_seen(engine, heartbeats.BEAT)
    allowed = timedelta(
        seconds=BEAT_MISSED_PASSES * settings.dispatch_interval_seconds + BEAT_SLACK_SECONDS
    )
    if seen is None:
        return [Check("beat", "fail", "no dispatcher pass recorded yet: start `vkpipe beat`")]
    if now - seen > allowed:
        return [
            Check(
                "beat",
                "fail",
                f"last dispatcher pass {ago(seen, now)}: are `vkpipe beat` and a dispatch "
                "worker running?",
            )
        ]
    return [Check("beat", "ok", f"last dispatcher pass {ago(seen, now)}")]


def check_workers(settings: Settings, engine: Engine | None, now: datetime) -> list[Check]:
    """One line per queue: the live workers on it (from their heartbeats) and their pools.

    A queue outside VKPIPE_HEALTH_REQUIRED_QUEUES without a worker is reported, not required.
    """
    if settings.embedded:
        return [
            Check(
                "workers",
                "skip",
                "embedded mode: no workers (vkpipe crawl crawls in its own process)",
                required=False,
            )
        ]
    if engine is None:
        return [Check("workers", "fail", "unknown: the database is unreachable")]
    live = heartbeats.live_workers(engine, now)
    checks: list[Check] = []
    for queue in ALL_QUEUES:
        required = queue in settings.health_required_queues
        serving = [w for w in live if queue in w.queues]
        if not serving:
            checks.append(
                Check(
                    f"workers on {queue}",
                    "fail" if required else "warn",
                    f"no live worker consumes {queue!r}: start `vkpipe worker {queue}`",
                    required=required,
                )
            )
            continue
        described = ", ".join(f"{w.node} ({w.pool}, concurrency {w.concurrency})" for w in serving)
        checks.append(Check(f"workers on {queue}", "ok", described, required=required))
    private = [w.node for w in live if not w.metrics_dir]
    if private:
        checks.append(
            Check(
                "metrics",
                "warn",
                f"{', '.join(private)} keep their metrics to themselves (no "
                "PROMETHEUS_MULTIPROC_DIR): start workers with `vkpipe worker`",
                required=False,
            )
        )
    return checks


def check_vk_tokens(settings: Settings) -> list[Check]:
    tokens = settings.tokens()
    if not tokens:
        return [Check("vk tokens", "fail", "none configured: set VKPIPE_VK_TOKENS")]
    session = build_session(
        settings.vk_api_url,
        connect_timeout=PROBE_TIMEOUT_SECONDS,
        read_timeout=PROBE_TIMEOUT_SECONDS,
    )
    transport = VkTransport(session, api_version=settings.vk_api_version)
    checks: list[Check] = []
    try:
        for token in tokens:
            label = f"vk token {token_hint(token.get_secret_value())}"
            method, params = TOKEN_PROBE
            try:
                transport.request(method, params, token.get_secret_value())
            except VkError as exc:
                checks.append(Check(label, "fail", str(exc)))
            else:
                checks.append(Check(label, "ok", f"valid at {settings.vk_api_url}"))
    finally:
        session.close()
    return checks


def check_vk_budget(settings: Settings, engine: Engine | None, now: datetime) -> list[Check]:
    """VK's daily quotas today (what is spent, until when) and whether the schedule bends.

    A method spent on every token is a warning, not a failure: crawls that need it wait for the
    quota day to end and then finish. A schedule stretched to fit the budget is a warning too,
    with the numbers.
    """
    from parser_pipeline.orchestration.schedule import plan_schedule
    from parser_pipeline.services import quota_report

    tokens = len(settings.tokens())
    if not tokens or not settings.vk_daily_quotas:
        return []
    report = quota_report(settings, now)
    checks: list[Check] = []
    spent = report.spent_lines()
    for line in spent:
        checks.append(Check("vk quota", "warn", line, required=False))
    if not spent:
        used: dict[str, int] = {}
        for state in report.states:
            used[state.method] = used.get(state.method, 0) + state.used
        detail = "; ".join(
            f"{method}: {used.get(method, 0):,} of {quota * tokens:,} calls used today"
            for method, quota in sorted(settings.vk_daily_quotas.items())
        )
        ends = report.ends.strftime("%Y-%m-%d %H:%M %Z")
        checks.append(Check("vk quota", "ok", f"{detail} (the day ends {ends})"))
    if engine is not None:
        plan = plan_schedule(engine, settings.vk_daily_quotas, tokens, now)
        verdict: Verdict = "warn" if plan.short else "ok"
        checks.append(Check("vk budget", verdict, plan.describe(), required=False))
    return checks


def check_alerts(settings: Settings, engine: Engine | None, now: datetime) -> list[Check]:
    """The alert outbox: dead letters, failing channels, deliveries overdue (no notify worker?),
    rules whose channels miss their settings. Warnings: alerts never stop the pipeline."""
    if engine is None:
        return [Check("alerts", "skip", "unknown: the database is unreachable", required=False)]
    with engine.connect() as connection:
        rules = alert_store.list_rules(connection)
        if not rules:
            return [Check("alerts", "ok", "no alert rules", required=False)]
        counts = alert_store.delivery_counts(connection)
        failing = alert_store.failing_channels(connection)
        overdue = alert_store.oldest_due(connection, now)
    checks = [
        Check(
            "alerts",
            "ok",
            f"{len(rules)} rules; deliveries: {counts['pending']} pending, "
            f"{counts['delivered']} delivered, {counts['dead']} dead",
            required=False,
        )
    ]
    if counts["dead"]:
        checks.append(
            Check(
                "alerts dead letter",
                "warn",
                f"{counts['dead']} deliveries gave up: see `vkpipe alerts history --status dead`",
                required=False,
            )
        )
    for channel in failing:
        since = ago(channel.failing_since, now)
        checks.append(
            Check(
                f"alerts {channel.channel} channel",
                "warn",
                f"failing since {since}: {channel.last_error}",
                required=False,
            )
        )
    if overdue is not None and now - overdue > timedelta(seconds=ALERTS_OVERDUE_SECONDS):
        checks.append(
            Check(
                "alerts overdue",
                "warn",
                f"a delivery was due {ago(overdue, now)} "
                "and is not sent: is a notify worker running?",
                required=False,
            )
        )
    kinds = {ChannelKind(c["kind"]) for r in rules if not r.is_paused for c in r.channels}
    for kind in sorted(kinds):
        try:
            check_channel_settings(settings, kind)
        except ConfigError as exc:
            checks.append(Check(f"alerts {kind.value} settings", "warn", str(exc), required=False))
    return checks


def check_versions(packages: Sequence[str] = CHECKED_PACKAGES) -> list[Check]:
    declared = {
        Requirement(r).name.lower(): Requirement(r)
        for r in metadata.requires("vkpipe") or []
        if "extra ==" not in r
    }
    checks: list[Check] = []
    for name in packages:
        requirement = declared.get(name)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            checks.append(Check(f"package {name}", "fail", "not installed"))
            continue
        wanted = str(requirement.specifier) if requirement else "any"
        ok = requirement is None or requirement.specifier.contains(
            Version(installed), prereleases=True
        )
        checks.append(
            Check(f"package {name}", "ok" if ok else "fail", f"{installed} (wants {wanted})")
        )
    return checks


def _engine_if_reachable(settings: Settings, checks: list[Check]) -> Engine | None:
    if all(c.verdict == "ok" for c in checks if c.name == "database"):
        return make_engine(settings.database_url)
    return None


def run_checks(
    settings: Settings, *, include_vk: bool = True, now: datetime | None = None
) -> list[Check]:
    """Every check, in the doctor's order (the same checks run as a task on every queue)."""
    now = now or datetime.now(UTC)
    checks = check_database(settings)
    engine = _engine_if_reachable(settings, checks)
    try:
        checks += check_redis(settings)
        checks += check_broker(settings)
        checks += _guard("workers", lambda: check_workers(settings, engine, now))
        checks += _guard("beat", lambda: check_beat(settings, engine, now))
        if include_vk:
            checks += _guard("vk", lambda: check_vk_tokens(settings))
        checks += _guard("vk budget", lambda: check_vk_budget(settings, engine, now))
        checks += _guard("alerts", lambda: check_alerts(settings, engine, now))
        checks += check_versions()
    finally:
        if engine is not None:
            engine.dispose()
    return checks


def readiness(settings: Settings, now: datetime | None = None) -> list[Check]:
    """What serving needs: the database at head, the broker, a worker on each required queue."""
    now = now or datetime.now(UTC)
    checks = check_database(settings) + check_broker(settings)
    engine = _engine_if_reachable(settings, checks)
    try:
        checks += _guard("workers", lambda: check_workers(settings, engine, now))
    finally:
        if engine is not None:
            engine.dispose()
    return checks


def report(checks: Sequence[Check], *, detailed: bool) -> dict[str, Any]:
    """The one answer of /health/ready (the API's and serve-health's): verdicts for anyone;
    the details (versions, hosts, database names) only for a caller with an API key."""
    shown = [
        c.to_json() if detailed else {"name": c.name, "verdict": c.verdict, "required": c.required}
        for c in checks
    ]
    return {"ready": healthy(checks), "checks": shown}
