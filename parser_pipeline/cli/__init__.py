"""The `vkpipe` command line (typer + rich); one module per command group."""

from __future__ import annotations

import sys
from typing import NoReturn

from parser_pipeline.cli.analyze import analyze, stats
from parser_pipeline.cli.api import api_app, api_keys_app
from parser_pipeline.cli.base import app, run
from parser_pipeline.cli.crawl import crawl
from parser_pipeline.cli.db import db_app
from parser_pipeline.cli.demo import demo
from parser_pipeline.cli.export import export, exports_app
from parser_pipeline.cli.groups import groups_app
from parser_pipeline.cli.keywords import keywords_app
from parser_pipeline.cli.ops import doctor, serve_health
from parser_pipeline.emulator.cli import app as emulator_app

app.add_typer(db_app, name="db")
app.add_typer(groups_app, name="groups")
app.add_typer(keywords_app, name="keywords")
app.command("analyze")(analyze)
app.command("stats")(stats)
app.command("crawl")(crawl)
app.command("demo")(demo)
app.command("export")(export)
app.add_typer(exports_app, name="exports")
app.add_typer(api_app, name="api")
app.add_typer(api_keys_app, name="api-keys")
app.command("doctor")(doctor)
app.command("serve-health")(serve_health)
app.add_typer(emulator_app, name="emulator", help="The bundled VK API emulator.")

__all__ = ["app", "main", "run"]


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:]))
