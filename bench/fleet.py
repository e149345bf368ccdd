"""A fleet of real `celery -A workers` processes, for the benchmarks and the end-to-end tests.

One launcher for both (tests/fleet.py adds the tests' settings on top of it): each process gets
its own session (so a kill takes its children too) and its own log file in the fleet's working
directory; the environment is built from scratch (no VKPIPE_* of the caller leaks in).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.vk.client import VkClient

CELERY = str(Path(sys.executable).with_name("celery"))
REPO = Path(__file__).resolve().parents[1]
# How long a stopped process may take to finish its tasks before it is killed.
STOP_GRACE_SECONDS = 20.0
# The tail of each process's log that `logs()` shows (a failure message stays readable).
LOG_TAIL_CHARS = 3000
# How often `wait_for` looks again.
POLL_SECONDS = 0.2


@dataclass
class Fleet:
    """The processes of one distributed deployment and the environment they share."""

    env: dict[str, str]
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        """`celery -A workers ARGS`, logging to `<workdir>/<name>.log`."""
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [CELERY, "-A", "workers", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )

    def worker(self, name: str, queues: str, *extra: str) -> None:
        """A worker consuming `queues` (comma-separated), node name `<name>@%h`."""
        self.start(
            name, "worker", "-Q", queues, "-n", f"{name}@%h",
            "--without-mingle", "--without-gossip", *extra,
        )  # fmt: skip

    def beat(self) -> None:
        self.start("beat", "beat", "-s", str(self.workdir / "beat-schedule"))

    def kill(self, name: str) -> None:
        """SIGKILL one process and its children (a crash, not a shutdown)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def exited(self) -> list[str]:
        """Names of the processes that are no longer running."""
        return [name for name, p in self.processes.items() if p.poll() is not None]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system, all threads) each running process has used so far (Linux)."""
        tick = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for name, process in self.processes.items():
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            used[name] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        return used

    def stop(self) -> None:
        """SIGTERM every process (a warm shutdown), SIGKILL those still running after the grace."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-LOG_TAIL_CHARS:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )


def fleet_environment(
    *,
    database_url: str,
    broker_url: str,
    limiter_url: str,
    vk_api_url: str,
    tokens: Sequence[str],
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a fleet: this one without VKPIPE_*, then where everything is, then
    `settings` (names without the VKPIPE_ prefix, e.g. {"vk_rps_per_token": "3"})."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
    env.update(
        VKPIPE_DATABASE_URL=database_url,
        VKPIPE_BROKER_URL=broker_url,
        VKPIPE_REDIS_URL=limiter_url,
        VKPIPE_VK_API_URL=vk_api_url,
        VKPIPE_VK_TOKENS=",".join(tokens),
        PYTHONPATH=str(REPO),
    )
    env.update({f"VKPIPE_{name.upper()}": value for name, value in (settings or {}).items()})
    return env


def wait_for(
    condition: Callable[[], bool],
    what: str,
    fleet: Fleet | None = None,
    timeout: float = 240.0,
) -> None:
    """Wait for an event the caller caused, with a deadline; the failure names what never came
    (and shows the fleet's logs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{fleet.logs() if fleet else ''}")
        time.sleep(POLL_SECONDS)


def register_all(
    engine: Engine,
    emulator: Emulator,
    tokens: Sequence[str],
    crawl: CrawlSettings | None = None,
) -> int:
    """Monitor every target community of the emulated world; returns how many."""
    settings = load_settings(vk_api_url=emulator.base_url, vk_tokens=",".join(tokens))
    client = VkClient.from_settings(settings)
    try:
        names = sorted(emulator.world.group_screen_names())
        resolved = register_groups(engine, client, [(n, crawl or CrawlSettings()) for n in names])
    finally:
        client.close()
    assert all(r.group is not None for r in resolved), "a target group did not resolve"
    return len(names)
