"""`celery -A workers alerts list|history|pause|resume`: what an operator of the fleet needs.

Like every producer they only read and write the database (the rules and the outbox), so they
work while Redis is down; the notify workers act on the change at their next pass. Rules are
added, tested and removed with `vkpipe alerts` or the HTTP API; channels are shown masked.
"""

from __future__ import annotations

import json

import click
from celery.bin.base import CeleryCommand
from rich.console import Console

from parser_pipeline.alerts import service
from parser_pipeline.alerts.render import rules_table
from parser_pipeline.errors import VkpipeError
from workers.commands import quiet

console = Console()


@click.group(help="Alert rules and their deliveries: list, history, pause, resume.")
def alerts() -> None:
    """The group; each subcommand opens the database itself."""


@alerts.command("list", cls=CeleryCommand, help="Every rule with its deliveries per status.")
@click.pass_context
def list_(ctx: click.Context) -> None:
    try:
        views = service.list_all(quiet(ctx))
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(rules_table(views))


@alerts.command(cls=CeleryCommand, help="The latest deliveries as JSON, newest first.")
@click.argument("rule", required=False)
@click.option("--status", type=click.Choice(["pending", "delivered", "dead"]))
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
def history(ctx: click.Context, rule: str | None, status: str | None, limit: int) -> None:
    try:
        rows = service.history(quiet(ctx), rule, status, limit)
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))


def _toggle(ctx: click.Context, rule: str, paused: bool) -> None:
    try:
        view = service.set_paused(quiet(ctx), rule, paused)
    except VkpipeError as exc:
        raise click.ClickException(str(exc)) from None
    state = "paused" if paused else "resumed (from now)"
    console.print(f"alert rule {view['id']} {view['name']!r} {state}", markup=False)


@alerts.command(cls=CeleryCommand, help="Stop a rule writing alerts.")
@click.argument("rule")
@click.pass_context
def pause(ctx: click.Context, rule: str) -> None:
    _toggle(ctx, rule, True)


@alerts.command(cls=CeleryCommand, help="Start a paused rule again, from now.")
@click.argument("rule")
@click.pass_context
def resume(ctx: click.Context, rule: str) -> None:
    _toggle(ctx, rule, False)
