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
from sqlalchemy import Engine, select, text

from parser_pipeline.errors import StorageError, VkError
from parser_pipeline.settings import Settings
from parser_pipeline.store import migrations
from parser_pipeline.store.engine import check_connection, make_engine, transaction
from parser_pipeline.store.schema import service_heartbeats
from parser_pipeline.store.writes import upsert_insert
from parser_pipeline.vk.tokens import token_hint
from parser_pipeline.vk.transport import VkTransport, build_session

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
        return [Check("broker", "skip", "embedded mode: in-process broker", required=False)]

    def probe() -> list[Check]:
        url = str(settings.broker_url)
        broker = Connection(url, connect_timeout=PROBE_TIMEOUT_SECONDS)  # type: ignore[no-untyped-call]
        with broker as connection:
            connection.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
            return [Check("broker", "ok", f"reachable at {connection.as_uri()}")]

    return _guard("broker", probe)


def check_beat(settings: Settings, engine: Engine | None, now: datetime) -> list[Check]:
    if settings.embedded:
        return [Check("beat", "skip", "embedded mode: no scheduler", required=False)]
    if engine is None:
        return [Check("beat", "fail", "unknown: the database is unreachable")]
    with engine.connect() as connection:
        seen = connection.execute(
            select(service_heartbeats.c.last_seen_at).where(service_heartbeats.c.name == "beat")
        ).scalar_one_or_none()
    allowed = timedelta(
        seconds=BEAT_MISSED_PASSES * settings.dispatch_interval_seconds + BEAT_SLACK_SECONDS
    )
    if seen is None:
        return [
            Check("beat", "fail", "no dispatcher pass recorded yet: start `celery -A workers beat`")
        ]
    age = (now - seen).total_seconds()
    if now - seen > allowed:
        return [Check("beat", "fail", f"last dispatcher pass {age:.0f} s ago: is beat running?")]
    return [Check("beat", "ok", f"last dispatcher pass {age:.0f} s ago")]


def record_heartbeat(engine: Engine, name: str, now: datetime, details: Any = None) -> None:
    """Note that a periodic service ran (beat's dispatcher pass), for check_beat."""
    with transaction(engine) as connection:
        stmt = upsert_insert(connection, service_heartbeats).values(
            name=name, last_seen_at=now, details=details
        )
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"],
                set_={"last_seen_at": stmt.excluded.last_seen_at, "details": stmt.excluded.details},
            )
        )


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


def run_checks(
    settings: Settings,
    *,
    worker_checks: Callable[[], list[Check]] | None = None,
    include_vk: bool = True,
    now: datetime | None = None,
) -> list[Check]:
    """Every check, in the doctor's order; `worker_checks` asks the Celery workers (distributed)."""
    now = now or datetime.now(UTC)
    checks = check_database(settings)
    engine: Engine | None = None
    if all(c.verdict == "ok" for c in checks if c.name == "database"):
        engine = make_engine(settings.database_url)
    try:
        checks += check_redis(settings)
        checks += check_broker(settings)
        if settings.embedded:
            checks.append(Check("workers", "skip", "embedded mode: in-process", required=False))
        elif worker_checks is not None:
            checks += _guard("workers", worker_checks)
        checks += _guard("beat", lambda: check_beat(settings, engine, now))
        if include_vk:
            checks += _guard("vk", lambda: check_vk_tokens(settings))
        checks += check_versions()
    finally:
        if engine is not None:
            engine.dispose()
    return checks


def readiness(settings: Settings) -> list[Check]:
    """What serving needs: the database at head and the broker reachable."""
    return check_database(settings) + check_broker(settings)
