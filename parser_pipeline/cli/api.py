"""`vkpipe api serve` (the HTTP API under uvicorn) and `vkpipe api-keys` (create, list, revoke)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.table import Table
from rich.text import Text

from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.services import open_engine

# Loopback by default: exposing the API is a decision (`--host 0.0.0.0`), not an accident.
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000

api_app = typer.Typer(help="The HTTP API.", no_args_is_help=True)
api_keys_app = typer.Typer(help="Keys for the HTTP API.", no_args_is_help=True)


@api_app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = DEFAULT_PORT,
    export_dir: Annotated[
        Path,
        typer.Option(
            "--export-dir", help="Where export files go (the export workers must see it too)."
        ),
    ] = Path("exports"),
) -> None:
    """Serve the API (docs at /docs, schema at /openapi.json) until interrupted."""
    import uvicorn  # only this command needs the server

    from parser_pipeline.web.app import create_app

    app = create_app(settings_of(ctx), export_dir=export_dir)
    console.print(f"vkpipe API on http://{host}:{port} (docs: /docs)", markup=False)
    # log_config=None: vkpipe's structlog setup stays in charge; access lines carry no keys
    # (keys travel in headers, which uvicorn does not log).
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=False)


@api_keys_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Who or what the key is for.")],
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The key can read, never change anything.")
    ] = False,
    admin: Annotated[
        bool, typer.Option("--admin", help="The key sees every export, not only its own.")
    ] = False,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    from parser_pipeline.store import api_keys as keys

    engine = open_engine(settings_of(ctx))
    try:
        created = keys.create_key(
            engine, name, read_only=read_only, admin=admin, now=datetime.now(UTC)
        )
    finally:
        engine.dispose()
    scope = keys.scope(read_only=created.read_only, admin=created.admin)
    console.print(f"created {scope} API key {created.id} {created.name!r}", markup=False)
    console.print("it is shown this once; store it now:", markup=False)
    typer.echo(created.key)


@api_keys_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Show every key (never a secret): scope, creation, last use, revocation."""
    from parser_pipeline.store import api_keys as keys

    engine = open_engine(settings_of(ctx))
    try:
        rows = keys.list_keys(engine)
    finally:
        engine.dispose()
    table = Table("id", "name", "prefix", "scope", "created", "last used", "revoked")

    def when(moment: datetime | None) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else ""

    for row in rows:
        table.add_row(
            str(row.id),
            Text(row.name),
            f"{keys.KEY_SCHEME}_{row.prefix}_…",
            keys.scope(read_only=row.read_only, admin=row.is_admin),
            when(row.created_at),
            when(row.last_used_at) or "never",
            when(row.revoked_at),
        )
    console.print(table)


@api_keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The key's name or id.")],
) -> None:
    """Revoke a key at once; requests with it get 401 from then on."""
    from parser_pipeline.store import api_keys as keys

    engine = open_engine(settings_of(ctx))
    try:
        row = keys.revoke_key(engine, ref, datetime.now(UTC))
    finally:
        engine.dispose()
    console.print(f"revoked API key {row.id} {row.name!r}", markup=False)
