"""`vkpipe db`: apply, revert and inspect the Alembic migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.store import migrations

db_app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = settings_of(ctx)
    migrations.upgrade(settings.database_url, revision)
    now = migrations.current_revision(settings.database_url)
    console.print(f"database {settings.database_url_for_display} is at revision {now}")


@db_app.command("downgrade")
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[str, typer.Argument(help="Target revision, or 'base' for empty.")],
) -> None:
    """Revert migrations down to REVISION."""
    settings = settings_of(ctx)
    migrations.downgrade(settings.database_url, revision)
    now = migrations.current_revision(settings.database_url) or "base (empty)"
    console.print(f"database {settings.database_url_for_display} is at revision {now}")


@db_app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the database's revision and the newest one this vkpipe knows."""
    settings = settings_of(ctx)
    now = migrations.current_revision(settings.database_url) or "base (empty)"
    head = migrations.head_revision()
    state = "up to date" if now == head else "behind: run `vkpipe db upgrade`"
    console.print(f"database revision {now}, newest {head} ({state})")
