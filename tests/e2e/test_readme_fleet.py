"""The README's distributed-mode block, run as written with the local services for its hosts,
gives a fleet that `vkpipe doctor` calls healthy, Flower shows whole and /metrics counts."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from fleet import TOKENS, jobs_final, wait_for
from parser_pipeline import metrics_dir
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.emulator import Emulator, EmulatorConfig, run_emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import vk_comments
from probes import free_port, get, metric_sum

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent


def readme_block(section: str) -> list[str]:
    """The first ```sh block of a README section, one command a line, comments removed."""
    text = README.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1]
    block = text.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return [re.split(r"\s+#", line)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.fixture
def database(postgres_url: str) -> Iterator[Engine]:
    """The test's view of the database; the README's `vkpipe db upgrade` creates the schema."""
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_emulator() -> Iterator[Emulator]:
    """VK as the fleet sees it, without faults: every request counted once. The small world: this
    test is about the README's commands and what the fleet shows; crawling big worlds exactly is
    test_distributed_crawl.py's."""
    config = EmulatorConfig(scenario="small", seed=3, tokens=TOKENS, rate_limit_per_second=None)
    with run_emulator(config) as emu:
        yield emu


def test_the_readmes_distributed_block_gives_a_whole_observable_fleet(
    postgres_url: str,
    database: Engine,
    clean_emulator: Emulator,
    broker_urls: tuple[str, str],
    tmp_path: Path,
) -> None:
    (tmp_path / "vk_tokens.txt").write_text("\n".join(TOKENS) + "\n")
    # The hosts of the block, replaced by this machine's services; VK by the emulator.
    local = {
        "VKPIPE_DATABASE_URL": postgres_url,
        "VKPIPE_BROKER_URL": broker_urls[0],
        "VKPIPE_REDIS_URL": broker_urls[1],
        "VKPIPE_VK_TOKENS_FILE": str(tmp_path / "vk_tokens.txt"),
    }
    ports = {"8088": str(free_port()), "5555": str(free_port())}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VKPIPE_", "PROMETHEUS_"))}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["VKPIPE_VK_API_URL"] = clean_emulator.base_url
    processes: list[subprocess.Popen[bytes]] = []
    flower_auth = ""
    try:
        for line in readme_block("Distributed mode"):
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = local.get(name, value)
                flower_auth = env.get("VKPIPE_FLOWER_BASIC_AUTH", flower_auth)
                continue
            background = line.endswith("&")
            argv = [ports.get(arg, arg) for arg in shlex.split(line.rstrip("&"))]
            if not background:
                done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
                assert done.returncode == 0, f"{line}: {done.stderr}"
                continue
            log = (tmp_path / f"{len(processes)}-{argv[1]}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        assert len(processes) == 8
        groups = sorted(clean_emulator.world.group_screen_names())
        added = subprocess.run(
            ["vkpipe", "groups", "add", *groups], env=env, capture_output=True, text=True
        )
        assert added.returncode == 0, added.stderr
        clean_emulator.reset_stats()

        wait_for(jobs_final(database, len(groups)), "the first crawl of every group")
        vk_saw = clean_emulator.stats()["total_requests"]
        with database.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(vk_comments)).scalar()
        health = f"http://127.0.0.1:{ports['8088']}"
        status, metrics = get(f"{health}/metrics")
        assert status == 200
        assert metric_sum(metrics, "vkpipe_vk_requests_total") == vk_saw > 0
        assert metric_sum(metrics, "vkpipe_comments_stored_total") >= stored > 0
        assert 'vkpipe_workers{queue="fetch"} 1.0' in metrics

        def doctor() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["vkpipe", "doctor", "--json"], env=env, capture_output=True, text=True
            )

        wait_for(lambda: doctor().returncode == 0, "vkpipe doctor exiting 0")
        report = json.loads(doctor().stdout)
        assert not [c for c in report["checks"] if c["verdict"] == "fail"]
        assert get(f"{health}/health/ready")[0] == 200

        flower = f"http://127.0.0.1:{ports['5555']}/api/workers?refresh=1"
        assert get(flower)[0] == 401
        status, body = get(flower, auth=flower_auth)
        assert status == 200, body
        workers = json.loads(body)
        served = {q["name"]: name for name, w in workers.items() for q in w["active_queues"]}
        assert set(served) == set(ALL_QUEUES)
        assert {name.split("@")[0] for name in workers} == set(ALL_QUEUES)

        # Beat's housekeeping passes ran (doctor saw them) but stay out of Flower's task list
        # and out of the workers' logs; the crawl's tasks are listed.
        status, body = get(f"http://127.0.0.1:{ports['5555']}/api/tasks", auth=flower_auth)
        assert status == 200, body
        listed = {task["name"] for task in json.loads(body).values()}
        assert "vkpipe.fetch.batch" in listed
        assert not {name for name in listed if name.startswith("vkpipe.dispatch.")}
        logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("*.log"))
        routine = [line for line in logs.splitlines() if "received" in line or "succeeded" in line]
        assert routine  # the crawl's tasks are logged ...
        assert not [line for line in routine if "dispatch_due_groups" in line]  # ... not these
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shared = metrics_dir.metrics_dir(
            load_settings(database_url=postgres_url, broker_url="redis://x")
        )
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)
