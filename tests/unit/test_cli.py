"""The vkpipe command itself, run as a process the way a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

VKPIPE = [str(Path(sys.executable).with_name("vkpipe"))]


def vkpipe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    return subprocess.run(
        [*VKPIPE, *args], env={**base, **(env or {})}, capture_output=True, text=True, timeout=120
    )


def test_help_lists_the_commands() -> None:
    result = vkpipe("--help")
    assert result.returncode == 0
    for command in (
        "db",
        "emulator",
        "groups",
        "crawl",
        "demo",
        "keywords",
        "analyze",
        "stats",
        "export",
        "exports",
        "doctor",
        "serve-health",
        "api",
        "api-keys",
    ):
        assert command in result.stdout


def test_bad_database_url_is_one_line_and_exit_2() -> None:
    result = vkpipe("db", "upgrade", env={"VKPIPE_DATABASE_URL": "mysql://root@localhost/x"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vkpipe: error: VKPIPE_DATABASE_URL: unsupported database")


def test_unreachable_database_is_one_line_and_nonzero() -> None:
    url = "postgresql+psycopg://postgres:S3CRET-PW@127.0.0.1:1/test"
    result = vkpipe("db", "upgrade", env={"VKPIPE_DATABASE_URL": url})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "127.0.0.1:1" in lines[0]
    assert "VKPIPE_DATABASE_URL" in lines[0]
    assert "S3CRET-PW" not in result.stderr + result.stdout


def test_unknown_option_is_a_usage_error() -> None:
    result = vkpipe("db", "upgrade", "--no-such-flag")
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_db_upgrade_and_downgrade_on_sqlite(tmp_path: Path) -> None:
    env = {"VKPIPE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    up = vkpipe("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr
    assert "is at revision" in up.stdout
    current = vkpipe("db", "current", env=env)
    assert "up to date" in current.stdout
    down = vkpipe("db", "downgrade", "base", env=env)
    assert down.returncode == 0
    assert "base (empty)" in down.stdout
