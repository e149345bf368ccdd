"""A whole run with distinctive secrets; afterwards no log line, no Redis message or key, no
database row and no export file holds any of them. The run sends alerts to a webhook, a fake
Telegram and an SMTP server without AUTH (so the password is used and fails): their secrets, and
the Telegram chat id, are scanned for too (the chat id is stored in the rule, so not in rows).

Flower without credentials is refused: proven in tests/e2e/test_compose_deployment.py.
"""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, text

from alertreceivers import FakeTelegram, WebhookReceiver, serving, smtp_server
from fleet import Fleet, wait_for
from parser_pipeline.emulator import Emulator, FaultConfig
from parser_pipeline.store.engine import make_engine
from private_servers import PostgresCluster, RedisServer, pg_cluster
from reliability_kit import all_logs, start_fleet
from truthcheck import differences

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

VKPIPE = str(Path(sys.executable).with_name("vkpipe"))
TOKENS = ("TOKEN-SCAN-9f3c1e77", "TOKEN-SCAN-9f3c1e77-second", "TOKEN-SCAN-9f3c1e77-revoked")
PG_PASSWORD = "PGPASS-SCAN-4d2a8b10"
REDIS_PASSWORD = "REDISPASS-SCAN-7e5f3a21"
WEBHOOK_SECRET = "whsec_V0hTRUMtU0NBTi0zYjdlOWMxMi1zZWNyZXQ="
BOT_TOKEN = "777000:BOTTOKEN-SCAN-5c8d2e44"
SMTP_PASSWORD = "SMTPPASS-SCAN-1a9f6b33"
CHAT_ID = "-1005550001234"
# TOKENS[0] is a prefix of every token.
SECRETS = (TOKENS[0], PG_PASSWORD, REDIS_PASSWORD, WEBHOOK_SECRET, BOT_TOKEN, SMTP_PASSWORD)
ROW_SECRETS = SECRETS  # the chat id is the rule's own target: stored, never shown
SHOWN_SECRETS = (*SECRETS, CHAT_ID)
# Celery wraps message bodies in base64: decode every run that could be one before searching.
_BASE64_RUN = re.compile(rb"[A-Za-z0-9+/]{16,}={0,2}")


def expand(data: bytes) -> bytes:
    """The bytes plus every base64 run in them decoded (twice: an envelope in an envelope)."""
    layers = [data]
    for _ in range(2):
        decoded = []
        for run in _BASE64_RUN.findall(layers[-1]):
            try:
                decoded.append(base64.b64decode(run + b"=" * (-len(run) % 4)))
            except ValueError:
                continue
        layers.append(b"\n".join(decoded))
    return b"\n".join(layers)


def leaks(where: str, data: bytes, secrets: tuple[str, ...] = SHOWN_SECRETS) -> list[str]:
    expanded = expand(data)
    return [f"{where}: {secret}" for secret in secrets if secret.encode() in expanded]


def test_the_scanner_finds_a_secret_inside_a_celery_body() -> None:
    envelope = b'{"body": "' + base64.b64encode(b'[["' + TOKENS[0].encode() + b'"], {}]') + b'"}'
    assert leaks("probe", envelope) == [f"probe: {TOKENS[0]}"]


class Monitor:
    """Redis MONITOR on a raw socket opened before the run: every command anyone sends."""

    def __init__(self, server: RedisServer) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port))
        self.sock.sendall(f"AUTH {REDIS_PASSWORD}\r\nMONITOR\r\n".encode())
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.sock.recv(65536):
            self.data += chunk

    def close(self) -> bytes:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=10)
        self.sock.close()
        return bytes(self.data)


def redis_dump(server: RedisServer) -> Iterator[tuple[str, bytes]]:
    for db in range(16):
        client = server.client(db)
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                value: object = client.get(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "hash":
                value = client.hgetall(key)
            elif kind == "set":
                value = client.smembers(key)
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            else:
                value = kind
            yield f"redis db{db} {key!r}", key + repr(value).encode()


@pytest.fixture
def secret_pg() -> Iterator[PostgresCluster]:
    yield from pg_cluster(auth="scram-sha-256", superuser_password=PG_PASSWORD)


@pytest.fixture
def secret_redis(tmp_path: Path) -> Iterator[RedisServer]:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir, password=REDIS_PASSWORD)
    server.start()
    yield server
    server.stop()


def vkpipe(fleet: Fleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VKPIPE, *args], env=fleet.env, capture_output=True, text=True, timeout=240,
        cwd=fleet.workdir,
    )  # fmt: skip


def test_no_secret_in_logs_redis_database_or_export(
    secret_pg: PostgresCluster,
    secret_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        _scan_a_whole_run(secret_pg, secret_redis, emulators, fleets, tmp_path, stack)


def _scan_a_whole_run(
    secret_pg: PostgresCluster,
    secret_redis: RedisServer,
    emulators: Callable[..., Emulator],
    fleets: Callable[..., Fleet],
    tmp_path: Path,
    stack: ExitStack,
) -> None:
    admin = create_engine(secret_pg.url(password=PG_PASSWORD), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE vkpipe"))
    admin.dispose()
    url = secret_pg.url("vkpipe", password=PG_PASSWORD)
    emulator = emulators(tokens=TOKENS, faults=FaultConfig.hostile(seed=9))
    monitor = Monitor(secret_redis)
    webhook, telegram = WebhookReceiver(WEBHOOK_SECRET), FakeTelegram(BOT_TOKEN)
    hook_url = stack.enter_context(serving(webhook))
    telegram_url = stack.enter_context(serving(telegram))
    smtp_port, _ = stack.enter_context(smtp_server())
    fleet = fleets(
        url, secret_redis, emulator, tokens=TOKENS, VKPIPE_LOG_LEVEL="DEBUG",
        VKPIPE_ALERTS_WEBHOOK_SECRETS=WEBHOOK_SECRET,
        VKPIPE_ALERTS_TELEGRAM_BOT_TOKEN=BOT_TOKEN, VKPIPE_ALERTS_TELEGRAM_API_URL=telegram_url,
        VKPIPE_ALERTS_SMTP_HOST="127.0.0.1", VKPIPE_ALERTS_SMTP_PORT=str(smtp_port),
        VKPIPE_ALERTS_SMTP_SECURITY="none", VKPIPE_ALERTS_SMTP_USER="ops",
        VKPIPE_ALERTS_SMTP_PASSWORD=SMTP_PASSWORD,
    )  # fmt: skip
    outputs: dict[str, str] = {}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = vkpipe(fleet, *args)
        outputs[" ".join(args)] = done.stdout + done.stderr
        return done

    assert run("db", "upgrade").returncode == 0, outputs
    names = sorted(emulator.world.group_screen_names())
    assert run("groups", "add", *names).returncode == 0, outputs
    assert run("keywords", "add", "мэр").returncode == 0, outputs
    channels = (f"webhook:{hook_url}/hook", f"telegram:{CHAT_ID}", "email:ops@example.org")
    added = run("alerts", "add", "mayor", "--keyword", "мэр", *(f"-C{c}" for c in channels))
    assert added.returncode == 0, outputs
    start_fleet(fleet, fetch_workers=1)
    emulator.revoke_token(TOKENS[2])
    crawled = run("crawl", "--wait")
    assert crawled.returncode == 0, outputs
    engine = make_engine(url)
    assert differences(engine, emulator.truth()) == []
    wait_for(lambda: bool(webhook.by_id and telegram.messages), "alerts delivered", fleet)
    assert webhook.bad_signatures == 0
    assert run("alerts", "test", "mayor").returncode == 1, outputs  # email: no SMTP AUTH there
    assert "SMTPNotSupportedError" in outputs["alerts test mayor"]
    assert run("alerts", "list").returncode == 0, outputs
    assert run("alerts", "history", "--json").returncode == 0, outputs
    assert run("doctor", "--skip-vk").returncode in (0, 1), outputs
    fleet.stop()
    captured = monitor.close()
    assert b"LPUSH" in captured, "MONITOR saw the run's messages"

    found: list[str] = []
    for name, output in outputs.items():
        found += leaks(f"vkpipe {name}", output.encode())
    for path in sorted(fleet.workdir.glob("*.log")):
        found += leaks(path.name, path.read_bytes())
    found += leaks("redis MONITOR", captured)
    for where, value in redis_dump(secret_redis):
        found += leaks(where, value)
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(table.select()):
                found += leaks(f"table {table.name}", repr(tuple(row)).encode(), ROW_SECRETS)
    assert found == []
    assert "celery-task-meta-" in str(list(secret_redis.client(5).scan_iter())), "results kept"

    # The export is last: its command may be wired after this suite was written.
    out = tmp_path / "comments.csv"
    exported = run("export", "--format", "csv", "--out", str(out))
    assert exported.returncode == 0, outputs
    assert leaks("export file", out.read_bytes()) == []
    assert leaks("vkpipe export", (exported.stdout + exported.stderr).encode()) == []
    assert len(out.read_text(encoding="utf-8").splitlines()) > len(emulator.truth()["comments"])
    assert TOKENS[0] not in all_logs(fleet)
    engine.dispose()
