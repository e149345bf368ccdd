"""`vkpipe worker QUEUE`, `vkpipe beat`, `vkpipe flower`: the fleet's processes, started right.

Each builds the `celery -A workers ...` command line the README documents (a unique node name,
the pool and concurrency the queue needs) and the environment it needs (the shared metrics
directory), prints it, and replaces itself with `celery`: the core never imports Celery.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final, NoReturn

import typer

from parser_pipeline import metrics_dir
from parser_pipeline.cli.base import EXIT_USAGE, err_console, fail, settings_of
from parser_pipeline.constants import (
    QUEUE_ANALYZE,
    QUEUE_DISPATCH,
    QUEUE_EXPORT,
    QUEUE_FETCH,
    QUEUE_NOTIFY,
)
from parser_pipeline.settings import Settings


@dataclass(frozen=True, slots=True)
class Pool:
    """How one queue's worker runs its tasks."""

    kind: str
    concurrency: int
    # Prefork children are replaced after this many tasks to bound memory (None: never).
    max_tasks_per_child: int | None = None


# Per queue, the pool the work needs. compose.yaml and the README run exactly these.
POOLS: Final[dict[str, Pool]] = {
    # VK I/O waits on the network and the shared rate limit: threads, not processes.
    QUEUE_FETCH: Pool("threads", 8),
    # Keyword matching is CPU work: one process per core, recycled to bound memory.
    QUEUE_ANALYZE: Pool("prefork", os.cpu_count() or 1, 200),
    # Export streams rows to disk: two processes per disk are plenty; big files cost memory.
    QUEUE_EXPORT: Pool("prefork", 2, 20),
    # Short database passes every few seconds: two threads, one process.
    QUEUE_DISPATCH: Pool("threads", 2),
    # Alert deliveries wait on receivers (HTTP, SMTP): threads; four keep a slow one from
    # holding the rest (rows are claimed with SKIP LOCKED, so threads never send one twice).
    QUEUE_NOTIFY: Pool("threads", 4),
}


class Queue(StrEnum):
    """The queues a worker can consume (constants.ALL_QUEUES)."""

    fetch = QUEUE_FETCH
    analyze = QUEUE_ANALYZE
    export = QUEUE_EXPORT
    dispatch = QUEUE_DISPATCH
    notify = QUEUE_NOTIFY


# Extra arguments after the queue (or after `--`) go to celery unchanged.
PASS_THROUGH: Final = {"allow_extra_args": True, "ignore_unknown_options": True}

_worker_app = typer.Typer()


def celery_program() -> str:
    """The `celery` of this installation (beside this Python), else the first one on PATH."""
    beside = Path(sys.executable).with_name("celery")
    if beside.exists():
        return str(beside)
    found = shutil.which("celery")
    if found is None:
        fail("cannot find the `celery` program; install vkpipe with `make install`")
    return found


def node_name(queue: str, name: str | None) -> str:
    """`fetch@%h` by default: unique per queue and host (each compose replica has its own host)."""
    chosen = name or queue
    return chosen if "@" in chosen else f"{chosen}@%h"


def worker_argv(queue: str, *, concurrency: int | None, name: str | None) -> list[str]:
    pool = POOLS[queue]
    argv = ["-A", "workers", "worker", "-Q", queue, "-n", node_name(queue, name)]
    argv += ["-P", pool.kind, "-c", str(concurrency or pool.concurrency)]
    if pool.max_tasks_per_child is not None:
        argv += ["--max-tasks-per-child", str(pool.max_tasks_per_child)]
    return argv


def _require_broker(settings: Settings, what: str) -> None:
    if settings.embedded:
        fail(
            f"VKPIPE_BROKER_URL is not set: {what} needs a broker such as redis://HOST:6379/0 "
            "(without one, `vkpipe crawl` does the work in its own process)",
            EXIT_USAGE,
        )


def exec_celery(settings: Settings, argv: list[str]) -> NoReturn:
    """Say what runs, then become `celery` with the shared metrics directory in its environment."""
    metrics_dir.prepare(settings)
    program = celery_program()
    shown = f"vkpipe: running celery {shlex.join(argv)}"
    err_console.print(shown, markup=False, highlight=False, soft_wrap=True)
    sys.stderr.flush()
    sys.stdout.flush()
    os.execv(program, [program, *argv])  # noqa: S606  (argv is ours, no shell involved)


@_worker_app.command("worker", context_settings=PASS_THROUGH)
def worker(
    ctx: typer.Context,
    queue: Annotated[Queue, typer.Argument(help="The queue this worker consumes.")],
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", "-c", min=1, max=512, help="Threads or processes."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            help="Node name (default QUEUE@HOST); a second worker of one queue "
            "on one host needs its own.",
        ),
    ] = None,
) -> None:
    """Run a Celery worker for one queue with its pool, concurrency and a unique name.

    fetch: 8 threads; analyze: one process per core; export: 2 processes; dispatch: 2 threads.
    Options after the queue that vkpipe does not know go to `celery worker` unchanged.
    """
    settings = settings_of(ctx)
    _require_broker(settings, "a worker")
    argv = worker_argv(str(queue), concurrency=concurrency, name=name)
    exec_celery(settings, [*argv, *ctx.args])


def beat(
    ctx: typer.Context,
    schedule: Annotated[
        Path,
        typer.Option("--schedule", "-s", help="Where beat keeps its schedule state."),
    ] = Path("celerybeat-schedule"),
) -> None:
    """Run the fleet's one scheduler (Celery beat): dispatch, reconcile, sweeps.

    Run exactly one for the whole fleet; it only publishes, the dispatch workers do the work.
    """
    settings = settings_of(ctx)
    _require_broker(settings, "beat")
    exec_celery(settings, ["-A", "workers", "beat", "-s", str(schedule)])


def flower(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Option("--address", help="Address (default VKPIPE_FLOWER_ADDRESS).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port (default VKPIPE_FLOWER_PORT)."),
    ] = None,
) -> None:
    """Run Flower, the Celery dashboard, behind the credentials VKPIPE_FLOWER_BASIC_AUTH names.

    Flower's settings are workers/flowerconfig.py, found from any working directory.
    """
    settings = settings_of(ctx)
    _require_broker(settings, "Flower")
    if not settings.flower_credentials():
        fail(
            "VKPIPE_FLOWER_BASIC_AUTH is not set: give Flower a user:password "
            "(or name a file holding it in VKPIPE_FLOWER_BASIC_AUTH_FILE)",
            EXIT_USAGE,
        )
    argv = ["-A", "workers", "flower"]
    argv.append(f"--address={address if address is not None else settings.flower_address}")
    argv.append(f"--port={port if port is not None else settings.flower_port}")
    exec_celery(settings, argv)


# `vkpipe worker` as a command of its own (cli/commands.py loads it when it runs).
worker_command = typer.main.get_command(_worker_app)
