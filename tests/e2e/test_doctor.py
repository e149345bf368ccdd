"""`vkpipe doctor` passes on a healthy fleet and names each broken dependency on its own line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleet import TOKENS, Fleet, wait_for
from parser_pipeline.store import migrations

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

VKPIPE = str(Path(sys.executable).with_name("vkpipe"))


def doctor(fleet: Fleet, **overrides: str) -> tuple[int, dict[str, dict[str, str]]]:
    env = {**fleet.env, **overrides}
    result = subprocess.run(
        [VKPIPE, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    report = json.loads(result.stdout)
    return result.returncode, {c["name"]: c for c in report["checks"]}


def failed(checks: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: c["detail"] for name, c in checks.items() if c["verdict"] == "fail"}


def start_healthy_fleet(fleet: Fleet) -> None:
    fleet.worker("fetch1", "fetch", "-P", "threads", "-c", "2")
    fleet.worker("misc", "dispatch,analyze,export,notify", "-P", "threads", "-c", "2")
    fleet.beat()


def test_doctor_passes_on_a_healthy_fleet(fleet: Fleet, fleet_engine: Engine) -> None:
    start_healthy_fleet(fleet)
    wait_for(lambda: doctor(fleet)[0] == 0, "a healthy doctor report", fleet)
    code, checks = doctor(fleet)
    assert code == 0
    assert failed(checks) == {}
    for queue in ("dispatch", "fetch", "analyze", "export", "notify"):
        assert checks[f"workers on {queue}"]["verdict"] == "ok"
    assert checks["beat"]["verdict"] == "ok"
    assert [checks[f"vk token …{t[-4:]}"]["verdict"] for t in TOKENS] == ["ok"] * len(TOKENS)
    assert TOKENS[0] not in json.dumps(checks)


def test_doctor_names_each_failure(fleet: Fleet, fleet_engine: Engine, postgres_url: str) -> None:
    fleet.worker("misc", "dispatch,analyze,export,notify", "-P", "threads", "-c", "2")
    fleet.beat()
    wait_for(lambda: "beat" not in failed(doctor(fleet)[1]), "beat's first pass", fleet)

    code, checks = doctor(fleet)
    assert code == 1
    assert set(failed(checks)) == {"workers on fetch"}
    assert "start `vkpipe worker fetch`" in failed(checks)["workers on fetch"]

    revoked = "revoked-token-9999"
    code, checks = doctor(fleet, VKPIPE_VK_TOKENS=f"{TOKENS[0]},{revoked}")
    assert "VK error 5" in failed(checks)["vk token …9999"]
    assert revoked not in json.dumps(checks)

    code, checks = doctor(fleet, VKPIPE_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert code == 1
    assert "127.0.0.1:1" in failed(checks)["database"]

    code, checks = doctor(fleet, VKPIPE_BROKER_URL="redis://127.0.0.1:1/0")
    assert code == 1
    assert {"redis (broker)", "broker"} <= set(failed(checks))

    # Which queues must be served is the operator's choice.
    code, checks = doctor(fleet, VKPIPE_HEALTH_REQUIRED_QUEUES="dispatch,analyze,export,notify")
    assert code == 0, failed(checks)
    assert checks["workers on fetch"]["verdict"] == "warn"

    migrations.downgrade(postgres_url, "0003")
    code, checks = doctor(fleet)
    assert code == 1
    assert "run `vkpipe db upgrade`" in failed(checks)["migrations"]
