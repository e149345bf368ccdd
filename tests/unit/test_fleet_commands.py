"""`vkpipe worker|beat|flower` build the documented celery command lines, or refuse clearly."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parser_pipeline import metrics_dir
from parser_pipeline.cli import run
from parser_pipeline.cli.fleet import POOLS, node_name, worker_argv
from parser_pipeline.health import ago
from parser_pipeline.heartbeats import worker_key
from parser_pipeline.settings import load_settings

CELERY = str(Path(sys.executable).with_name("celery"))


@pytest.mark.parametrize(
    ("queue", "pool"),
    [("fetch", ["-P", "threads", "-c", "8"]), ("dispatch", ["-P", "threads", "-c", "2"])],
)
def test_io_queues_run_threads(queue: str, pool: list[str]) -> None:
    argv = worker_argv(queue, concurrency=None, name=None)
    assert argv[:7] == ["-A", "workers", "worker", "-Q", queue, "-n", f"{queue}@%h"]
    assert argv[7:] == pool


def test_cpu_and_disk_queues_run_recycled_processes() -> None:
    analyze = worker_argv("analyze", concurrency=None, name=None)
    assert analyze[7:9] == ["-P", "prefork"]
    assert analyze[9:11] == ["-c", str(os.cpu_count() or 1)]
    assert analyze[-2:] == ["--max-tasks-per-child", "200"]
    export = worker_argv("export", concurrency=3, name="export2")
    assert export[5:7] == ["-n", "export2@%h"]
    assert export[9:11] == ["-c", "3"]
    assert set(POOLS) == {"fetch", "analyze", "export", "dispatch", "notify"}


def test_node_names_are_unique_per_queue_and_host() -> None:
    assert node_name("fetch", None) == "fetch@%h"
    assert node_name("fetch", "fetch-b") == "fetch-b@%h"
    assert node_name("fetch", "fetch@box") == "fetch@box"
    assert len(worker_key("fetch@" + "h" * 80)) == 64
    assert worker_key("fetch@" + "h" * 80) != worker_key("fetch@" + "h" * 79 + "x")


def test_a_worker_without_a_broker_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(["worker", "fetch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("vkpipe: error: VKPIPE_BROKER_URL is not set: a worker needs")


def test_an_unknown_queue_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["worker", "fetchh"]) == 2
    assert "fetchh" in capsys.readouterr().err


def test_flower_without_credentials_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VKPIPE_BROKER_URL", "redis://127.0.0.1:1/0")
    assert run(["flower"]) == 2
    assert "VKPIPE_FLOWER_BASIC_AUTH is not set" in capsys.readouterr().err


def test_plain_celery_flower_needs_credentials_from_any_directory(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VKPIPE_", "FLOWER_"))}
    env["VKPIPE_BROKER_URL"] = "redis://127.0.0.1:1/0"
    result = subprocess.run(
        [CELERY, "-A", "workers", "flower"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("vkpipe: error: VKPIPE_FLOWER_BASIC_AUTH is not set")
    )
    assert "Traceback" not in result.stderr


def test_the_metrics_directory_is_one_per_deployment(tmp_path: Path) -> None:
    a = load_settings(database_url="postgresql://u@db/a", broker_url="redis://r/0")
    b = load_settings(database_url="postgresql://u@db/b", broker_url="redis://r/0")
    assert metrics_dir.metrics_dir(a) == metrics_dir.metrics_dir(a)
    assert metrics_dir.metrics_dir(a) != metrics_dir.metrics_dir(b)
    assert metrics_dir.metrics_dir(load_settings()) is None  # embedded: one process
    chosen = load_settings(metrics_dir=tmp_path / "m" / "n")
    assert metrics_dir.prepare(chosen) == tmp_path / "m" / "n"
    assert (tmp_path / "m" / "n").is_dir()
    assert os.environ[metrics_dir.ENV_VAR] == str(tmp_path / "m" / "n")
    del os.environ[metrics_dir.ENV_VAR]


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (12, "12 s ago"),
        (0, "0 s ago"),
        (-4, "just now"),
        (-60, "just now (this host's clock is 60 s behind the one that wrote it)"),
    ],
)
def test_ages_are_never_negative(offset: float, text: str) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert ago(now - timedelta(seconds=offset), now) == text


def test_the_readme_shows_the_celery_commands_vkpipe_worker_runs() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    lines = [line for line in readme.splitlines() if line.startswith("celery -A workers worker")]
    assert len(lines) == len(POOLS)
    for line in lines:
        argv = shlex.split(line.split("  #")[0])
        queue, concurrency = argv[argv.index("-Q") + 1], int(argv[argv.index("-c") + 1])
        assert argv[1:] == worker_argv(queue, concurrency=concurrency, name=None), line


def test_a_missing_metrics_directory_is_created_not_fatal(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "there"
    env = {**os.environ, metrics_dir.ENV_VAR: str(missing)}
    result = subprocess.run(
        [sys.executable, "-c", "import parser_pipeline.metrics"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert missing.is_dir()
