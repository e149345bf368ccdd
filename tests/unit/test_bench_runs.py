"""The benchmark runner (`python -m bench`): table, JSON and exit code, with fake benchmarks."""

from __future__ import annotations

import importlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

runner = importlib.import_module("bench.__main__")

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def figure(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "value": 2.5,
        "unit": "×",
        "baseline": 10.0,
        "ratio": None,
        "goal": "≥ 2",
        "met": True,
        **extra,
    }


class Fake:
    """A benchmark module: records the `quick` it was run with."""

    def __init__(self, figures: Any = None, error: Exception | None = None) -> None:
        self.figures = figures
        self.error = error
        self.calls: list[bool] = []

    def run(self, quick: bool) -> Any:
        self.calls.append(quick)
        if self.error is not None:
            raise self.error
        return self.figures


def run_main(
    tmp_path: Path, argv: list[str], loaders: dict[str, Any]
) -> tuple[int, str, dict[str, Any]]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None)
    code = runner.main(
        argv, loaders=loaders, results_dir=tmp_path, console=console, clock=lambda: WHEN
    )
    output = buffer.getvalue()
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    return code, output, latest


def test_figures_go_to_the_table_and_both_json_files(tmp_path: Path) -> None:
    good = Fake([figure("speedup", detail="raw: 10 vs 4"), figure("share", met=False)])
    code, output, latest = run_main(tmp_path, ["--quick"], {"good": lambda: good})

    assert code == 0
    assert good.calls == [True]
    assert "speedup" in output
    assert "share" in output
    assert "NO" in output  # an unmet goal is shown, yet is no failure
    assert "raw: 10 vs 4" in output
    dated = json.loads((tmp_path / "2026-01-02-quick.json").read_text(encoding="utf-8"))
    assert dated == latest
    assert latest["quick"] is True
    assert [f["name"] for f in latest["figures"]] == ["speedup", "share"]
    assert {f["benchmark"] for f in latest["figures"]} == {"good"}
    assert latest["benchmarks"][0]["status"] == "ok"
    machine = latest["machine"]
    assert machine["cores"] >= 1
    assert set(machine["packages"]) == set(runner.PACKAGES)
    assert machine["python"]


def test_a_failing_benchmark_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    boom = Fake(error=RuntimeError("emulator went away"))
    after = Fake([figure("after")])
    code, output, latest = run_main(
        tmp_path, ["boom", "after"], {"boom": lambda: boom, "after": lambda: after, "x": Fake}
    )

    assert code == 1
    assert after.calls == [False]
    assert "FAILED" in output
    assert "emulator went away" in output
    statuses = {b["name"]: b["status"] for b in latest["benchmarks"]}
    assert statuses == {"boom": "failed", "after": "ok"}
    failed = next(b for b in latest["benchmarks"] if b["name"] == "boom")
    assert failed["error"] == "RuntimeError: emulator went away"
    assert "Traceback" in failed["traceback"]
    assert [f["name"] for f in latest["figures"]] == ["after"]
    assert (tmp_path / "2026-01-02.json").exists()


def broken_import() -> Any:
    raise ImportError("no module named redis")


@pytest.mark.parametrize(
    ("loader", "error"),
    [
        (broken_import, "ImportError: no module named redis"),
        (lambda: Fake([]), "TypeError: run() returned list, not a non-empty list"),
        (lambda: Fake([{"name": "x", "value": 1}]), "TypeError: figure 'x' lacks unit"),
        (lambda: Fake(None), "TypeError: run() returned NoneType"),
    ],
)
def test_import_errors_and_malformed_figures_count_as_failures(
    tmp_path: Path, loader: Any, error: str
) -> None:
    code, _, latest = run_main(tmp_path, [], {"bad": loader})
    assert code == 1
    assert latest["benchmarks"][0]["error"].startswith(error)


def test_unknown_benchmark_name_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        runner.main(["nope"], loaders={"good": Fake}, results_dir=tmp_path)
    assert exit_info.value.code == 2
    assert not list(tmp_path.iterdir())


def test_the_known_benchmarks_are_the_default() -> None:
    assert set(runner.default_loaders()) == {
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
    }
