"""Benchmark: how long `vkpipe --help` and `vkpipe groups list` take, against importing typer.

Run: `.venv/bin/python -m bench startup [--quick]`. Each command runs as a whole process, as a
person runs it, several times interleaved with the baseline `python -c "import typer"` (the
least any typer command costs); the figure is the median. `groups list` reads a migrated,
empty SQLite database. Goal: each under 0.5 s on an idle machine (README "Development").
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL_SECONDS = 0.5
RUNS, QUICK_RUNS = 15, 3
BIN = Path(sys.executable).parent


def _seconds(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode()[-300:]}")
    return elapsed


def run(quick: bool) -> list[dict[str, Any]]:
    runs = QUICK_RUNS if quick else RUNS
    vkpipe = str(BIN / "vkpipe")
    commands = {
        "baseline": [sys.executable, "-c", "import typer"],
        "help": [vkpipe, "--help"],
        "groups_list": [vkpipe, "groups", "list"],
    }
    with tempfile.TemporaryDirectory(prefix="vkpipe-startup-") as scratch:
        cwd = Path(scratch)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VKPIPE_")}
        env["VKPIPE_DATABASE_URL"] = f"sqlite:///{cwd / 'vkpipe.db'}"
        subprocess.run([vkpipe, "db", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True)
        for (
            argv
        ) in commands.values():  # warm the file cache (and bytecode, where it may be written)
            _seconds(argv, env, cwd)
        timings: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, argv in commands.items():
                timings[name].append(_seconds(argv, env, cwd))
    baseline = statistics.median(timings["baseline"])
    figures = []
    for name, label in (("help", "vkpipe --help"), ("groups_list", "vkpipe groups list")):
        median = statistics.median(timings[name])
        figures.append(
            {
                "name": f"startup_{name}",
                "value": round(median, 3),
                "unit": "s (median)",
                "baseline": round(baseline, 3),
                "baseline_unit": "s: python -c 'import typer'",
                "ratio": round(median / baseline, 2),
                "goal": f"≤ {GOAL_SECONDS} s",
                "met": median <= GOAL_SECONDS,
                "detail": (
                    f"{label}: median {median:.3f} s, min {min(timings[name]):.3f} s over {runs} "
                    f"runs; import typer: median {baseline:.3f} s"
                ),
            }
        )
    return figures


if __name__ == "__main__":
    for figure in run("--quick" in sys.argv):
        print(figure["detail"])
