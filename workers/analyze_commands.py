"""`celery -A workers rematch`: queue every stored comment for matching again after rules changed.

Like the other producers it only writes to the database (`analyzed_at` back to NULL, in short
transactions): the analyze workers' backlog sweeps do the matching, so it works while Redis is
down. `--wait` then follows the backlog until it is empty.
"""

from __future__ import annotations

import time

import click
from celery.bin.base import CeleryCommand
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from parser_pipeline.analyze.service import request_reanalysis, unanalyzed_count
from parser_pipeline.errors import VkpipeError
from workers.commands import quiet

console = Console()

# How often `--wait` looks at the backlog (one indexed count).
WAIT_POLL_SECONDS = 2.0


@click.command(cls=CeleryCommand, help="Match every stored comment again (after rules changed).")
@click.option("--wait", is_flag=True, help="Follow the analyze workers until all are matched.")
@click.pass_context
def rematch(ctx: click.Context, wait: bool) -> None:
    try:
        engine = quiet(ctx)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
            queued = progress.add_task("queued", total=None)
            count = request_reanalysis(
                engine,
                on_progress=lambda done, total: progress.update(
                    queued, completed=done, total=total
                ),
            )
        console.print(f"{count} comment(s) queued for analysis")
        if not wait:
            return
        with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
            matched = progress.add_task("matched", total=count)
            while (left := unanalyzed_count(engine)) > 0:
                progress.update(matched, completed=max(0, count - left))
                time.sleep(WAIT_POLL_SECONDS)
        console.print("every comment is matched")
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None
