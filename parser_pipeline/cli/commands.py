"""The table of `vkpipe` commands, each imported only when it runs (a lazily loaded group)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar, Final

import typer
from typer import _click as click
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives ("module:attribute": a Typer app or a function) and its help line.

    The help line is what `vkpipe --help` lists without importing the module;
    tests/unit/test_cli_startup.py checks that it equals the command's own first help line.
    """

    target: str
    help: str


# In the order `vkpipe --help` lists them: first steps, daily work, the fleet, operations.
COMMANDS: Final[dict[str, LazyCommand]] = {
    "db": LazyCommand("parser_pipeline.cli.db:db_app", "Database schema migrations (Alembic)."),
    "groups": LazyCommand(
        "parser_pipeline.cli.groups:groups_app", "The VK communities vkpipe monitors."
    ),
    "crawl": LazyCommand(
        "parser_pipeline.cli.crawl:crawl",
        "Crawl groups now; exit 0 when every group was crawled or skipped for a recorded reason.",
    ),
    "keywords": LazyCommand(
        "parser_pipeline.cli.keywords:keywords_app",
        "The keyword rules comments are matched against.",
    ),
    "analyze": LazyCommand(
        "parser_pipeline.cli.analyze:analyze",
        "Match comments against the keyword rules: new and changed ones, or all with --rematch.",
    ),
    "stats": LazyCommand(
        "parser_pipeline.cli.analyze:stats",
        "Summaries first (top keywords, categories, authors, posts), then counts per day.",
    ),
    "export": LazyCommand(
        "parser_pipeline.cli.export:export",
        "Export comments to a file now, ordered by date, with a progress bar.",
    ),
    "exports": LazyCommand(
        "parser_pipeline.cli.export:exports_app",
        "Export subscriptions: files of what is new, written after each crawl of their groups.",
    ),
    "alerts": LazyCommand(
        "parser_pipeline.cli.alerts:alerts_app",
        "Alert rules: send new, digested, spiking or deleted comments to webhooks, Telegram, "
        "email.",
    ),
    "demo": LazyCommand(
        "parser_pipeline.cli.demo:demo",
        "Crawl the emulator's groups into a fresh SQLite database three times, match keywords, "
        "export, report.",
    ),
    "worker": LazyCommand(
        "parser_pipeline.cli.fleet:worker_command",
        "Run a Celery worker for one queue with its pool, concurrency and a unique name.",
    ),
    "beat": LazyCommand(
        "parser_pipeline.cli.fleet:beat",
        "Run the fleet's one scheduler (Celery beat): dispatch, reconcile, sweeps.",
    ),
    "flower": LazyCommand(
        "parser_pipeline.cli.fleet:flower",
        "Run Flower, the Celery dashboard, behind the credentials VKPIPE_FLOWER_BASIC_AUTH names.",
    ),
    "doctor": LazyCommand(
        "parser_pipeline.cli.ops:doctor",
        "Check the database, Redis, broker, workers, beat, VK tokens and package versions.",
    ),
    "serve-health": LazyCommand(
        "parser_pipeline.cli.ops:serve_health",
        "Serve /health/live, /health/ready and /metrics for load balancers and Prometheus.",
    ),
    "api": LazyCommand("parser_pipeline.cli.api:api_app", "The HTTP API."),
    "api-keys": LazyCommand("parser_pipeline.cli.api:api_keys_app", "Keys for the HTTP API."),
    "emulator": LazyCommand("parser_pipeline.emulator.cli:app", "The bundled VK API emulator."),
}


def load(name: str, entry: LazyCommand) -> click.Command:
    """Import the command's module and build its click command under `name`.

    A Typer app becomes a group exactly as `add_typer` makes it (a one-command app stays a
    group: `vkpipe api serve`); a click command is used as it is; a function is one command.
    """
    module_name, _, attribute = entry.target.partition(":")
    target: Any = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, click.Command):
        command = target
    elif isinstance(target, typer.Typer):
        holder = typer.Typer()
        holder.add_typer(target, name=name)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        command = group.commands[name]
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A typer group whose subcommands are imported when one runs, not when the group starts.

    `--help` lists the table's help lines, so listing the commands imports none of them.
    """

    lazy: ClassVar[dict[str, LazyCommand]] = COMMANDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        entry = self.lazy[cmd_name]
        if self._listing:
            return TyperCommand(cmd_name, help=entry.help)
        command = load(cmd_name, entry)
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
