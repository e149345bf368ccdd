"""`python -m bench [NAME...] [--quick]`: run benchmarks, print their figures, save them as JSON.

Each benchmark is a module `bench/<NAME>.py` whose `run(quick: bool) -> list[dict]` returns
figures `{name, value, unit, baseline, ratio, goal, met}`, optionally with `baseline_unit` and
`detail` (a sentence with the raw numbers). A benchmark that raises, or returns something that
is not a list of figures, is reported as failed and makes the exit code 1; the others still run.
An unmet goal is shown (and saved) but is no failure: figures are measurements, not tests.
Results go to `bench/results/<YYYY-MM-DD>.json` (quick runs: `<YYYY-MM-DD>-quick.json`, so they
never overwrite a full run) and `bench/results/latest.json`, with a description of the machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, cast

from rich.console import Console
from rich.table import Table

KNOWN = (
    "requests",
    "quota",
    "store_ingest",
    "emulator_rps",
    "rate_limit",
    "analysis",
    "export",
    "api_search",
    "e2e",
    "memory",
    "scale",
    "startup",
    "workspace",
    "alerts",
)
PACKAGES = ("celery", "kombu", "redis", "sqlalchemy", "psycopg", "vk-api")
RESULTS_DIR = Path(__file__).resolve().parent / "results"
FIGURE_KEYS = ("name", "value", "unit", "baseline", "ratio", "goal", "met")
# An error's message in the table; the whole traceback goes to the JSON.
ERROR_LINE_CHARS = 200


class Benchmark(Protocol):
    def run(self, quick: bool) -> list[dict[str, Any]]: ...


Loader = Callable[[], Benchmark]


@dataclass
class Outcome:
    """One benchmark's run: its figures, or the error that stopped it."""

    name: str
    seconds: float
    figures: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def default_loaders() -> dict[str, Loader]:
    """The known benchmarks, imported only when they run (one may need what another does not)."""

    def loader(name: str) -> Loader:
        return lambda: cast(Benchmark, importlib.import_module(f"bench.{name}"))

    return {name: loader(name) for name in KNOWN}


def _check_figures(figures: Any) -> list[dict[str, Any]]:
    if not isinstance(figures, list) or not figures:
        raise TypeError(f"run() returned {type(figures).__name__}, not a non-empty list")
    for figure in figures:
        if not isinstance(figure, dict):
            raise TypeError(f"a figure is a {type(figure).__name__}, not a dict")
        missing = [k for k in FIGURE_KEYS if k not in figure]
        if missing:
            raise TypeError(f"figure {figure.get('name')!r} lacks {', '.join(missing)}")
    return figures


def run_one(name: str, load: Loader, quick: bool) -> Outcome:
    """Import and run one benchmark; any exception becomes a failed outcome."""
    start = time.perf_counter()
    try:
        figures = _check_figures(load().run(quick))
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".strip()
        return Outcome(
            name,
            time.perf_counter() - start,
            error=message.splitlines()[0][:ERROR_LINE_CHARS] if message else type(exc).__name__,
            traceback=traceback.format_exc(),
        )
    figures = [{"benchmark": name, **figure} for figure in figures]
    return Outcome(name, time.perf_counter() - start, figures)


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    """The checked-out commit (read-only `git rev-parse`), None outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    memory = _memory_bytes()
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "cpu": _cpu_model(),
        "memory_gb": round(memory / 2**30, 1) if memory else None,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: _version(name) for name in PACKAGES},
        "vkpipe_commit": _commit(),
    }


def build_report(
    outcomes: Sequence[Outcome], *, quick: bool, machine: Mapping[str, Any], started: datetime
) -> dict[str, Any]:
    return {
        "started_at": started.isoformat(timespec="seconds"),
        "quick": quick,
        "machine": dict(machine),
        "benchmarks": [
            {
                "name": o.name,
                "status": "ok" if o.ok else "failed",
                "seconds": round(o.seconds, 2),
                "error": o.error,
                "traceback": o.traceback,
            }
            for o in outcomes
        ],
        "figures": [figure for o in outcomes for figure in o.figures],
    }


def write_report(report: Mapping[str, Any], directory: Path, day: date) -> list[Path]:
    """Write the dated file and latest.json; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if report.get("quick") else ""
    body = json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n"
    paths = [directory / f"{day.isoformat()}{suffix}.json", directory / "latest.json"]
    for path in paths:
        path.write_text(body, encoding="utf-8")
    return paths


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _baseline(figure: Mapping[str, Any]) -> str:
    cell = _cell(figure["baseline"])
    unit = figure.get("baseline_unit")
    return f"{cell} {unit}" if unit and figure["baseline"] is not None else cell


def _met(value: Any) -> str:
    if value is None:
        return "[dim]—[/]"
    return "[green]yes[/]" if value else "[bold red]NO[/]"


def figure_table(outcomes: Sequence[Outcome]) -> Table:
    """One row per figure, and one per failed benchmark."""
    table = Table(title="vkpipe benchmarks", title_justify="left")
    # Names and numbers stay whole; the unit and goal texts wrap.
    table.add_column("benchmark", no_wrap=True)
    table.add_column("figure", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("unit", max_width=26)
    table.add_column("baseline", justify="right", max_width=28)
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("goal", max_width=34)
    table.add_column("met", no_wrap=True)
    for outcome in outcomes:
        if not outcome.ok:
            table.add_row(
                outcome.name, "[bold red]FAILED[/]", "", "", "", "", "", "[bold red]NO[/]"
            )
            continue
        for f in outcome.figures:
            table.add_row(
                outcome.name,
                str(f["name"]),
                _cell(f["value"]),
                _cell(f["unit"]),
                _baseline(f),
                _cell(f["ratio"]),
                _cell(f["goal"]),
                _met(f["met"]),
            )
    return table


def print_outcomes(console: Console, outcomes: Sequence[Outcome]) -> None:
    console.print(figure_table(outcomes))
    for outcome in outcomes:
        if not outcome.ok:
            console.print(f"[bold red]{outcome.name} failed[/]: {outcome.error}", markup=True)
        for f in outcome.figures:
            if f.get("detail"):
                console.print(f"[bold]{f['name']}[/]: {f['detail']}", highlight=False)


def main(
    argv: Sequence[str] | None = None,
    *,
    loaders: Mapping[str, Loader] | None = None,
    results_dir: Path = RESULTS_DIR,
    console: Console | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run the named benchmarks (all by default); 1 when any failed, else 0."""
    available = dict(loaders) if loaders is not None else default_loaders()
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(available)}"
    )
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke check")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(available)}")
    names = list(dict.fromkeys(args.names)) or list(available)
    # Not a terminal (CI, a pipe): rich would squeeze the table into 80 columns.
    out = console or Console(width=None if sys.stdout.isatty() else 160)
    started = clock()
    outcomes: list[Outcome] = []
    for name in names:
        out.print(f"[bold]{name}[/] running{' (quick)' if args.quick else ''}…")
        outcome = run_one(name, available[name], args.quick)
        state = "done" if outcome.ok else f"[bold red]FAILED[/]: {outcome.error}"
        out.print(f"[bold]{name}[/] {state} in {outcome.seconds:.1f} s", highlight=False)
        outcomes.append(outcome)
    print_outcomes(out, outcomes)
    report = build_report(outcomes, quick=args.quick, machine=machine_info(), started=started)
    for path in write_report(report, results_dir, started.date()):
        out.print(f"wrote {path}", highlight=False)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    from parser_pipeline.logging import configure_logging

    # The crawl narrates every group at INFO; keep the table readable.
    configure_logging(level="WARNING", stream=sys.stderr)
    sys.exit(main())
