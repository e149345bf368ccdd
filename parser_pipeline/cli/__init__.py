"""The `vkpipe` command line (typer + rich); one module per command group, loaded when it runs."""

from __future__ import annotations

import sys
from typing import NoReturn

from parser_pipeline.cli.base import app, run

__all__ = ["app", "main", "run"]


def main() -> NoReturn:
    sys.exit(run(sys.argv[1:]))
