"""`vkpipe` imports a command when it runs; the lazy table says what each command's help says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from parser_pipeline import services
from parser_pipeline.cli.commands import COMMANDS, load
from parser_pipeline.store import migrations

# Imported by some command, never needed to list them: `vkpipe --help` must not load these.
HEAVY = ("sqlalchemy", "alembic", "pydantic_settings", "redis", "celery", "fastapi", "structlog")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_lists_each_command_with_its_own_first_help_line(name: str) -> None:
    command = load(name, COMMANDS[name])
    first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
    assert COMMANDS[name].help == first_paragraph


def _modules_after(args: list[str]) -> set[str]:
    script = (
        "import json, sys\n"
        "from parser_pipeline.cli import run\n"
        f"code = run({args!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return set(loaded)


def test_help_imports_no_command_and_no_heavy_library() -> None:
    loaded = _modules_after(["--help"])
    assert not {m for m in loaded if m.split(".")[0] in HEAVY}
    commands = {entry.target.partition(":")[0] for entry in COMMANDS.values()}
    assert not commands & loaded


def test_group_help_imports_only_that_group() -> None:
    loaded = _modules_after(["db", "--help"])
    assert "parser_pipeline.cli.db" in loaded
    assert "parser_pipeline.cli.groups" not in loaded
    assert "celery" not in loaded


def test_head_revision_without_alembic_equals_alembics() -> None:
    assert services.head_revision() == migrations.head_revision()
