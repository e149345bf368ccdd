"""Contract: `vkpipe emulator serve|truth` (output, option errors, clean shutdown)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from parser_pipeline.emulator import World, build_truth
from parser_pipeline.emulator.cli import app

runner = CliRunner()


def test_truth_writes_the_same_world_as_json(tmp_path: Path) -> None:
    out = tmp_path / "truth.json"
    result = runner.invoke(app, ["truth", "--scenario", "small", "--seed", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == build_truth(World("small", 2))


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--scenario", "huge"],
        ["serve", "--faults", "often"],
        ["serve", "--faults", "1.5"],
        ["serve", "--port", "70000"],
        ["serve", "--tokens", ","],
        ["truth", "--scenario", "huge", "--out", "x.json"],
    ],
)
def test_bad_options_exit_2_with_one_line(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error: ")


def test_serve_prints_the_url_and_stops_on_sigterm() -> None:
    cmd = [sys.executable, "-m", "parser_pipeline.emulator.cli", "serve", "--port", "0",
           "--tokens", "t1,t2", "--revoked-tokens", "t3", "--faults", "off"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("VKPIPE_VK_API_URL=http://127.0.0.1:")
        base = line.split("=", 1)[1]
        params = {"screen_name": "gorod_novosti", "v": "5.199"}
        ok = requests.get(
            f"{base}/utils.resolveScreenName", params={**params, "access_token": "t2"}, timeout=5
        )
        assert ok.json()["response"]["type"] == "page"
        revoked = requests.get(f"{base}/utils.resolveScreenName",
                               params={**params, "access_token": "t3"}, timeout=5)  # fmt: skip
        assert revoked.json()["error"]["error_code"] == 5
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
