"""A fleet of celery processes for the benchmarks, and the emulator's groups registered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from parser_pipeline.crawl.groups import register_groups
from parser_pipeline.emulator import Emulator
from parser_pipeline.settings import load_settings
from parser_pipeline.store.groups import CrawlSettings
from parser_pipeline.store.schema import crawl_jobs
from parser_pipeline.vk.client import VkClient

CELERY = str(Path(sys.executable).with_name("celery"))
TOKENS = ("bench-e2e-token-1", "bench-e2e-token-2", "bench-e2e-token-3")
FINAL = ("succeeded", "failed", "cancelled")


class Fleet:
    """`celery -A workers worker|beat` processes sharing one environment; each its own group."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                [CELERY, "-A", "workers", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )

    def worker(self, name: str, queues: str, concurrency: int) -> None:
        self.start(
            name, "worker", "-Q", queues, "-n", f"{name}@%h", "-P", "threads",
            "-c", str(concurrency), "--without-mingle", "--without-gossip",
        )  # fmt: skip

    def standard(self) -> None:
        """Two fetch workers, one dispatch worker, beat (analysis and export are not started)."""
        self.worker("fetch1", "fetch", 4)
        self.worker("fetch2", "fetch", 4)
        self.worker("dispatch", "dispatch", 2)
        self.start("beat", "beat", "-s", str(self.workdir / "beat-schedule"))

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(self.workdir.glob("*.log"))
        )


def register(emu: Emulator, engine: Engine, max_post_age_days: int | None = None) -> int:
    """Monitor every target community of the world; returns how many."""
    settings = load_settings(vk_api_url=emu.base_url, vk_tokens=",".join(TOKENS))
    client = VkClient.from_settings(settings)
    try:
        wanted = sorted(emu.world.group_screen_names())
        crawl = CrawlSettings(max_post_age_days=max_post_age_days)
        resolved = register_groups(engine, client, [(n, crawl) for n in wanted])
    finally:
        client.close()
    assert all(r.group is not None for r in resolved), "a target group did not resolve"
    return len(wanted)


def job_span(engine: Engine, expected: int) -> tuple[datetime, datetime] | None:
    """(first job created, last job finished) once `expected` jobs are all final, else None."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(crawl_jobs.c.status, crawl_jobs.c.created_at, crawl_jobs.c.finished_at)
        ).all()
    if len(rows) < expected or any(r.status not in FINAL for r in rows):
        return None
    assert all(r.status == "succeeded" for r in rows), [r.status for r in rows]
    return min(r.created_at for r in rows), max(r.finished_at for r in rows)
