"""Real celery worker and beat processes for the end-to-end tests, and waiting on them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import Settings, load_settings
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import UNFINISHED_JOB_STATUSES, crawl_jobs
from parser_pipeline.vk.client import VkClient

CELERY = str(Path(sys.executable).with_name("celery"))
REPO = Path(__file__).resolve().parents[1]
TOKENS = ("e2e-token-1", "e2e-token-2", "e2e-token-3")
# The longest an e2e wait may take before the test fails (a hang must not hang CI).
DEADLINE_SECONDS = 240.0


@dataclass
class Fleet:
    """The processes of one distributed deployment and the environment they share."""

    env: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [CELERY, "-A", "workers", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )

    def worker(self, name: str, queues: str, *extra: str) -> None:
        self.start(
            name,
            "worker",
            "-Q",
            queues,
            "-n",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
            *extra,
        )

    def beat(self) -> None:
        self.start("beat", "beat", "-s", str(self.workdir / "beat-schedule"))

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in self.workdir.glob("*.log")
        )


def wait_for(
    condition: Callable[[], bool],
    what: str,
    fleet: Fleet | None = None,
    timeout: float = DEADLINE_SECONDS,
) -> None:
    """Wait for an event the test caused, with a deadline; the failure names what never came
    (and shows the fleet's logs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{fleet.logs() if fleet else ''}")
        time.sleep(0.2)


def jobs_final(engine: Engine, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        with engine.connect() as connection:
            statuses = list(connection.execute(select(crawl_jobs.c.status)).scalars())
        return len(statuses) >= expected and all(s not in UNFINISHED_JOB_STATUSES for s in statuses)

    return check


def register_all(engine: Engine, emulator: Emulator) -> int:
    """Monitor every community of the emulated world; returns how many."""
    settings = load_settings(vk_api_url=emulator.base_url, vk_tokens=",".join(TOKENS))
    client = VkClient.from_settings(settings)
    try:
        names = sorted(emulator.world.group_screen_names())
        resolved = register_groups(engine, client, [(n, CrawlSettings()) for n in names])
    finally:
        client.close()
    assert all(r.group is not None for r in resolved)
    return len(names)


# How a test fleet calls VK: a generous rate (the emulator's limit is off), quick retries.
FLEET_VK_SETTINGS = {
    "vk_rps_per_token": "50",
    "vk_backoff_base_seconds": "0.05",
    "vk_backoff_cap_seconds": "0.5",
    "vk_max_attempts": "12",
}


def fleet_vk_settings(emulator: Emulator, tokens: tuple[str, ...] = TOKENS) -> Settings:
    """The VK settings a test fleet runs with, for a crawl in the test's own process."""
    return load_settings(
        vk_api_url=emulator.base_url, vk_tokens=",".join(tokens), **FLEET_VK_SETTINGS
    )


def fleet_env(
    *,
    database_url: str,
    broker_url: str,
    limiter_url: str,
    vk_api_url: str,
    tokens: tuple[str, ...] = TOKENS,
    lost_work_after_seconds: int = 8,
) -> dict[str, str]:
    """The environment of a test fleet: fast retries and dispatch, short lost-work detection."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env.update(
        VKPIPE_DATABASE_URL=database_url,
        VKPIPE_BROKER_URL=broker_url,
        VKPIPE_REDIS_URL=limiter_url,
        VKPIPE_VK_API_URL=vk_api_url,
        VKPIPE_VK_TOKENS=",".join(tokens),
        VKPIPE_DISPATCH_INTERVAL_SECONDS="1",
        VKPIPE_RECONCILE_INTERVAL_SECONDS="2",
        VKPIPE_LOST_WORK_AFTER_SECONDS=str(lost_work_after_seconds),
        # Every post's count checked on every crawl, so the database equals the truth after
        # every crawl of a world that moved (the default tiers check old posts daily).
        VKPIPE_RECHECK_TIERS="*=0/30d",
        VKPIPE_LOG_LEVEL="INFO",
        PYTHONPATH=str(REPO),
    )
    env.update({f"VKPIPE_{name.upper()}": value for name, value in FLEET_VK_SETTINGS.items()})
    return env
