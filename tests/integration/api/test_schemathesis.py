"""schemathesis against `vkpipe api serve` on SQLite and PostgreSQL: no finding, every check.

The run is the one an outside tester makes: the live server over HTTP, schemathesis' default
phases (on SQLite all but the coverage phase, with half the examples) and checks (server
errors, status code, content type, headers and response schema conformance, negative data
rejected, positive data accepted, ...), a fixed seed and a bounded number of examples per
operation (schemathesis.toml beside this file, with the few operations whose validity depends
on what a schema cannot say). Any finding fails the test.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from apikit import EMULATOR_TOKENS, NOW, add_comments, add_group

from parser_pipeline.analyze.rules import make_spec
from parser_pipeline.analyze.service import analyze_comments
from parser_pipeline.analyze.store import add_keywords
from parser_pipeline.emulator import Emulator
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store.engine import make_engine, transaction

BIN = Path(sys.executable).parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
# The server must answer within this long after it was started (it imports and migrates nothing).
START_DEADLINE_SECONDS = 60.0
# The whole schemathesis run on one database.
RUN_TIMEOUT_SECONDS = 300
SQLITE_PHASES = "examples,fuzzing,stateful"
SQLITE_EXAMPLES = "5"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _seed(database_url: str) -> str:
    """Groups, comments, a keyword and their matches, and an admin read-write key."""
    engine = make_engine(database_url)
    try:
        add_group(engine, 100, "city")
        add_group(engine, 200, "village")
        add_comments(engine, 100, [{"comment_id": i, "text": f"дорога {i}"} for i in range(1, 6)])
        add_comments(engine, 200, [{"comment_id": 7, "text": "школа", "parent": None}])
        with transaction(engine) as connection:
            add_keywords(connection, [make_spec("дорога", "roads")])
        analyze_comments(engine)
        return keys.create_key(engine, "schemathesis", read_only=False, admin=True, now=NOW).key
    finally:
        engine.dispose()


@pytest.fixture
def live_api(
    migrated_database_url: str, emulator: Emulator, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """`vkpipe api serve` on a seeded database: its URL and a key."""
    database_url = migrated_database_url
    key = _seed(database_url)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")},
        "VKPIPE_DATABASE_URL": database_url,
        "VKPIPE_VK_API_URL": emulator.base_url,
        "VKPIPE_VK_TOKENS": ",".join(EMULATOR_TOKENS),
        "VKPIPE_VK_RPS_PER_TOKEN": "100",
    }
    command = [str(BIN / "vkpipe"), "api", "serve", "--port", str(port)]
    command += ["--export-dir", str(tmp_path / "exports")]
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while True:
            try:
                if requests.get(f"{url}/health/live", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the API server did not start"
            time.sleep(0.2)
        yield url, key
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_schemathesis_finds_nothing(
    live_api: tuple[str, str], migrated_database_url: str, tmp_path: Path
) -> None:
    url, key = live_api
    # The coverage phase sends every operation's boundary values, a fixed set whatever
    # max-examples says (39 s of a 70 s run here). It runs against PostgreSQL, the production
    # database; SQLite, the demo's, gets the fuzzing and stateful phases with half the examples.
    # The boundary numbers that reach a database (ids, filters, cursors at BIGINT's ends) are
    # test_edges.py's, on both.
    sqlite = ["--phases", SQLITE_PHASES, "--max-examples", SQLITE_EXAMPLES]
    phases = [] if migrated_database_url.startswith("postgresql") else sqlite
    done = subprocess.run(
        [
            str(BIN / "st"),
            "--config-file",
            str(CONFIG),
            "run",
            f"{url}/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--report-dir",
            str(tmp_path / "report"),
            *phases,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        cwd=tmp_path,
    )
    output = tmp_path / "schemathesis.txt"
    output.write_text(done.stdout + done.stderr)
    assert key not in done.stdout
    assert done.returncode == 0, f"schemathesis found something (all of it in {output}):\n" + (
        done.stdout[-20000:] + done.stderr[-5000:]
    )
