"""The Prometheus alerts and the Grafana dashboard are valid, tested, described in the README,
and watch only metrics vkpipe exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from parser_pipeline.metrics import LiveGauges, exposition
from servicecheck import service_missing

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "monitoring" / "prometheus"
RULES = PROMETHEUS / "vkpipe-alerts.yml"
RULE_TESTS = PROMETHEUS / "vkpipe-alerts.test.yml"
DASHBOARD = ROOT / "monitoring" / "grafana" / "vkpipe-dashboard.json"
SCHEMA = ROOT / "monitoring" / "grafana" / "dashboard.schema.json"
METRIC = re.compile(r"\bvkpipe_[a-z0-9_]+\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        service_missing("promtool (Debian's prometheus package)", "not installed")
    assert found is not None
    return found


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def exported_metrics() -> set[str]:
    """Every series name vkpipe's /metrics can show, from the exposition's TYPE lines."""
    gauges = LiveGauges(lambda: {"fetch": 1}, lambda: 1.0, lambda: 1.0, lambda: {"fetch": 1})
    names: set[str] = set()
    for line in exposition(gauges).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind == "histogram":
                names |= {name + suffix for suffix in ("_bucket", "_count", "_sum")}
            else:  # a counter's TYPE line already ends in _total
                names.add(name)
    return names


def test_the_alert_rules_pass_promtool() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_on_its_condition() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {
        case["alertname"]
        for test in cases
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert tested == {rule["alert"] for rule in alerts()}


def test_the_dashboard_follows_the_schema() -> None:
    board = dashboard()
    Draft202012Validator(json.loads(SCHEMA.read_text())).validate(board)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]


def test_a_broken_dashboard_is_caught_by_the_schema() -> None:
    board = dashboard()
    board["panels"][1]["targets"][0].pop("expr")
    errors = list(Draft202012Validator(json.loads(SCHEMA.read_text())).iter_errors(board))
    assert errors


def test_panels_and_alerts_watch_only_metrics_vkpipe_exports() -> None:
    watched = {m for rule in alerts() for m in METRIC.findall(rule["expr"])}
    watched |= {
        m
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
        for m in METRIC.findall(target["expr"])
    }
    assert watched
    assert watched <= exported_metrics(), watched - exported_metrics()


def test_the_readme_describes_every_panel_and_alert() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Monitoring\n", 1)[1].split("\n## ", 1)[0]
    for panel in dashboard()["panels"]:
        if panel["type"] != "row":
            assert f"**{panel['title']}**" in section, panel["title"]
    for rule in alerts():
        assert f"`{rule['alert']}`" in section, rule["alert"]


@pytest.mark.parametrize("path", [RULES, RULE_TESTS])
def test_rule_files_are_yaml(path: Path) -> None:
    assert yaml.safe_load(path.read_text())
