"""The root of the `vkpipe` command: settings built once per run, errors mapped to exit codes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from parser_pipeline import __version__
from parser_pipeline.cli.commands import LazyGroup
from parser_pipeline.errors import ConfigError, VkpipeError

if TYPE_CHECKING:
    from parser_pipeline.settings import Settings

# Exit codes: 2 is what typer/click use for a bad argument, and we use it for bad settings too.
EXIT_FAILURE = 1
EXIT_USAGE = 2

# Every subcommand is imported when it runs (cli/commands.py): `vkpipe --help` stays fast.
app = typer.Typer(
    cls=LazyGroup,
    name="vkpipe",
    help="Collect comments from VK community walls, match keywords, export the results.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# soft_wrap: a status line is one line, whatever its length (scripts read it). On a pipe rich
# would assume 80 columns and squeeze report tables into ellipses; 120 keeps them readable.
PIPE_WIDTH = 120
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else PIPE_WIDTH)
err_console = Console(stderr=True)


@dataclass(frozen=True)
class CliContext:
    """What every command receives: the Settings built once for this invocation."""

    settings: Settings


def print_error(message: str) -> None:
    """One line on stderr, never wrapped or colored, whatever the terminal."""
    err_console.print(f"vkpipe: error: {message}", markup=False, highlight=False, soft_wrap=True)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print one line naming the problem and what to do, and exit non-zero."""
    print_error(message)
    raise typer.Exit(code)


def exit_code_for(error: VkpipeError) -> int:
    return EXIT_USAGE if isinstance(error, ConfigError) else EXIT_FAILURE


def settings_of(ctx: typer.Context) -> Settings:
    obj = ctx.find_object(CliContext)
    assert obj is not None, "the vkpipe callback builds the context before any command runs"
    return obj.settings


def _version(value: bool) -> None:
    if value:
        console.print(f"vkpipe {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # Imported here, not at the top: `vkpipe --help` needs neither pydantic nor structlog.
    from parser_pipeline.logging import configure_command_logging
    from parser_pipeline.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    # The CLI shows its own progress and tables; log lines below WARNING only when asked for.
    configure_command_logging(settings)
    ctx.obj = CliContext(settings=settings)


def run(args: list[str]) -> int:
    """Run the vkpipe command; vkpipe's typed errors become one line and an exit code.

    Usage errors (unknown option, bad value) are click's own: a message and exit code 2.
    """
    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="vkpipe", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except VkpipeError as exc:
        print_error(str(exc))
        return exit_code_for(exc)
    return 0
