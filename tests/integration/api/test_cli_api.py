"""`vkpipe api-keys` and `vkpipe api serve` as processes, on SQLite (the demo's database).

The commands are mounted here exactly as `parser_pipeline/cli/__init__.py` is to mount them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from parser_pipeline.errors import ConfigError
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import make_engine

WIRED = (
    "import sys;"
    "from parser_pipeline.cli import app, run;"
    "from parser_pipeline.cli.api import api_app, api_keys_app;"
    "app.add_typer(api_app, name='api');"
    "app.add_typer(api_keys_app, name='api-keys');"
    "sys.exit(run(sys.argv[1:]))"
)
STARTUP_SECONDS = 30.0


def vkpipe(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["VKPIPE_DATABASE_URL"] = f"sqlite:///{database}"
    return subprocess.run(
        [sys.executable, "-c", WIRED, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def database(migrated_sqlite_url: str) -> Path:
    return Path(make_url(migrated_sqlite_url).database or "")


def test_keys_are_created_listed_and_revoked(database: Path) -> None:
    created = vkpipe(database, "api-keys", "create", "ops", "--read-only")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("vkp_")
    assert "read-only" in created.stdout

    listed = vkpipe(database, "api-keys", "list")
    assert "ops" in listed.stdout
    assert key not in listed.stdout
    assert key.split("_", 2)[2][:8] not in listed.stdout  # the secret part may hold "_"

    assert vkpipe(database, "api-keys", "revoke", "ops").returncode == 0
    again = vkpipe(database, "api-keys", "revoke", "ops")
    assert again.returncode == 1
    assert "no working API key" in again.stderr


def test_a_name_is_unique_among_working_keys(database: Path) -> None:
    engine = make_engine(f"sqlite:///{database}")
    now = datetime.now(UTC)
    try:
        first = keys.create_key(engine, "ops", read_only=False, now=now)
        with pytest.raises(ConfigError, match="already called 'ops'"):
            keys.create_key(engine, " ops ", read_only=True, now=now)
        with pytest.raises(ConfigError, match="1 to 255 characters"):
            keys.create_key(engine, "  ", read_only=True, now=now)
        assert keys.revoke_key(engine, str(first.id), now).name == "ops"
        second = keys.create_key(engine, "ops", read_only=True, now=now)
        assert keys.authenticate(engine, first.key, now) is None
        assert keys.authenticate(engine, second.key, now) == keys.ApiKey(second.id, "ops", True)
        assert [row.name for row in keys.list_keys(engine)] == ["ops", "ops"]
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    key = vkpipe(database, "api-keys", "create", "me").stdout.strip().splitlines()[-1]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env["VKPIPE_DATABASE_URL"] = f"sqlite:///{database}"
    process = subprocess.Popen(
        [sys.executable, "-c", WIRED, "api", "serve", "--port", str(port),
         "--export-dir", str(tmp_path / "exports")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                httpx.get(f"{base}/health/live", timeout=1.0)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.2)
        yield base, key
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        assert key not in output


def test_serve_answers_over_http(server: tuple[str, str]) -> None:
    base, key = server
    assert httpx.get(f"{base}/health/live").json() == {"status": "ok"}
    assert httpx.get(f"{base}/groups").status_code == 401
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{base}/groups", headers=headers).json()["total"] == 0
    assert httpx.get(f"{base}/comments?text=дорога", headers=headers).json()["items"] == []
    ready = httpx.get(f"{base}/health/ready", headers=headers)
    assert ready.status_code == 200, ready.text
    assert httpx.get(f"{base}/openapi.json").status_code == 200
