"""The commands compose.yaml runs, started here as local processes against local services."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine

from fleet import TOKENS, Fleet, wait_for
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.settings import load_settings
from workers.app import create_app
from workers.health import worker_checks

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LONG_RUNNING = (
    "worker-fetch",
    "worker-analyze",
    "worker-export",
    "worker-dispatch",
    "beat",
    "flower",
    "health",
    "emulator",
)
FLOWER_AUTH = "operator:e2e-flower-pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local(command: list[str], ports: dict[str, int], workdir: Path) -> list[str]:
    """The service's command for this machine: loopback, free ports, paths in the test's dir."""
    replaced: list[str] = []
    for arg in command:
        arg = arg.replace("0.0.0.0", "127.0.0.1").replace("/var/lib/vkpipe", str(workdir))
        arg = arg.replace("/run/secrets/vk_tokens", str(workdir / "vk_tokens.txt"))
        replaced.append(ports.get(arg, arg))
    if replaced[0] in ("vkpipe", "celery"):
        replaced[0] = str(BIN / replaced[0])
    return replaced


def get(url: str, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def test_compose_commands_start_and_serve(fleet: Fleet, fleet_engine: Engine) -> None:
    services: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    workdir = fleet.workdir
    (workdir / "vk_tokens.txt").write_text("\n".join(TOKENS) + "\n")
    ports = {"8088": str(free_port()), "8080": str(free_port())}
    flower_port = free_port()
    env = {
        **fleet.env,
        "VKPIPE_FLOWER_BASIC_AUTH": FLOWER_AUTH,
        "VKPIPE_FLOWER_PORT": str(flower_port),
        "VKPIPE_FLOWER_ADDRESS": "127.0.0.1",
        "VKPIPE_FLOWER_DB": str(workdir / "flower.db"),
    }
    migrate = subprocess.run(
        local(services["migrate"]["command"], ports, workdir),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr

    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in LONG_RUNNING:
            log = (workdir / f"{name}.log").open("wb")
            processes[name] = subprocess.Popen(
                local(services[name]["command"], ports, workdir),
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        app = create_app(load_settings(broker_url=env["VKPIPE_BROKER_URL"]))

        def all_queues_served() -> bool:
            return all(c.verdict == "ok" for c in worker_checks(app, ALL_QUEUES))

        wait_for(all_queues_served, "a worker on every queue", fleet)
        wait_for(
            lambda: get(f"http://127.0.0.1:{ports['8088']}/health/ready") == 200,
            "the health endpoint",
            fleet,
        )
        flower = f"http://127.0.0.1:{flower_port}/api/workers"
        wait_for(lambda: get(flower) == 401, "Flower refusing a request without credentials", fleet)
        assert get(flower, auth="operator:wrong") == 401
        assert get(flower, auth=FLOWER_AUTH) == 200
        wait_for(
            lambda: "VKPIPE_VK_API_URL=" in (workdir / "emulator.log").read_text(),
            "the emulator's base URL",
            fleet,
        )
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        codes = {}
        for name, process in processes.items():
            try:
                codes[name] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[name] = "killed"
    assert all(code != "killed" for code in codes.values()), codes


def test_flower_refuses_to_start_without_credentials(fleet: Fleet) -> None:
    env = {k: v for k, v in fleet.env.items() if k != "VKPIPE_FLOWER_BASIC_AUTH"}
    result = subprocess.run(
        [str(BIN / "celery"), "-A", "workers", "flower", "--conf=workers/flowerconfig.py"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "VKPIPE_FLOWER_BASIC_AUTH is not set" in result.stdout + result.stderr
