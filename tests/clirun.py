"""`vkpipe` run inside the test's process: the exit code and output a shell would see.

Starting `vkpipe` as a process costs 1-3 s of imports on a slow machine, and the CLI's tests
run it dozens of times. The command, its settings (from the environment, as a shell passes
them) and its output are the same in process; tests where the process is the point (start-up
time, signals, the installed entry point, secrets in a child's output) still start one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from parser_pipeline.cli import run


@dataclass(frozen=True)
class CliOutcome:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class InProcessCli:
    """`vkpipe ARGS` with `env` as its only VKPIPE_* variables."""

    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    env: Mapping[str, str]

    def __call__(self, *args: str) -> CliOutcome:
        for name in list(os.environ):
            if name.startswith("VKPIPE_"):
                self.monkeypatch.delenv(name)
        for name, value in self.env.items():
            self.monkeypatch.setenv(name, value)
        self.capsys.readouterr()  # what the test printed before is not the command's
        code = run(list(args))
        out, err = self.capsys.readouterr()
        return CliOutcome(code, out, err)
