"""`vkpipe doctor` and `vkpipe serve-health`: is everything vkpipe needs there, and healthy?"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from parser_pipeline import metrics_dir
from parser_pipeline.cli.base import EXIT_USAGE, console, err_console, fail, settings_of

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    skip_vk: Annotated[
        bool, typer.Option("--skip-vk", help="Do not call VK to validate the tokens.")
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Only checks whose name starts with this (repeatable), e.g. beat: a probe.",
        ),
    ] = None,
) -> None:
    """Check the database, Redis, broker, workers, beat, VK tokens and package versions."""
    from parser_pipeline.health import healthy, run_checks

    settings = settings_of(ctx)
    if not as_json:
        err_console.print("checking the database, Redis, the broker, workers, beat and VK…")
    checks = run_checks(settings, include_vk=not skip_vk)
    if only:
        checks = [c for c in checks if c.name.startswith(tuple(only))]
        if not checks:
            fail(
                f"no check is named {', '.join(only)}; run `vkpipe doctor` to see them", EXIT_USAGE
            )
    ok = healthy(checks)
    if as_json:
        print(json.dumps({"healthy": ok, "checks": [c.to_json() for c in checks]}, indent=2))
    else:
        table = Table("check", "verdict", "detail", title="vkpipe doctor")
        for c in checks:
            table.add_row(c.name, f"[{_STYLE[c.verdict]}]{c.verdict}[/]", c.detail)
        console.print(table)
        console.print("[green]healthy[/]" if ok else "[bold red]unhealthy[/]: see the failed lines")
    if not ok:
        raise typer.Exit(1)


def serve_health(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8088,
) -> None:
    """Serve /health/live, /health/ready and /metrics for load balancers and Prometheus.

    /metrics adds up the samples of every vkpipe process of this host (the shared metrics
    directory, PROMETHEUS_MULTIPROC_DIR); /health/ready shows details only to an API key.
    """
    settings = settings_of(ctx)
    # Before anything imports prometheus-client: it reads the directory when it is imported.
    shared = metrics_dir.prepare(settings)
    import uvicorn  # only this command needs the server

    from parser_pipeline.api.health_app import create_health_app

    app = create_health_app(settings)
    where = f"adding up {shared}" if shared else "this process only (embedded mode)"
    console.print(
        f"vkpipe health on http://{host}:{port}: /health/live, /health/ready, /metrics ({where})",
        markup=False,
    )
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=False)
