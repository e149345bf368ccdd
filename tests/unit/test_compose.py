"""compose.yaml is a complete, secret-free deployment whose commands exist in this project.

tests/e2e/test_compose_deployment.py runs it; these are the properties one can read off the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from celery.bin.celery import celery as celery_cli

from composekit import InterpolationError, image_directories, interpolate, named_volumes
from parser_pipeline.cli import app as vkpipe_app
from parser_pipeline.cli.fleet import POOLS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
VKPIPE_SERVICES = (
    "migrate",
    "worker-fetch",
    "worker-analyze",
    "worker-export",
    "worker-dispatch",
    "worker-notify",
    "beat",
    "flower",
    "health",
    "api",
)
LONG_RUNNING = (*VKPIPE_SERVICES[1:], "postgres", "redis", "emulator")
WORKERS = {f"worker-{queue}": queue for queue in POOLS}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def _resolve(group: Any, argv: list[str]) -> None:
    """Parse argv against a click command tree: unknown commands or options raise UsageError."""
    command = group
    parent = None
    args = list(argv)
    while hasattr(command, "get_command") and args and not args[0].startswith("-"):
        context = command.context_class(command, info_name=command.name, parent=parent)
        sub = command.get_command(context, args[0])
        assert sub is not None, f"no command {args[0]!r} in {argv}"
        parent, command, args = context, sub, args[1:]
    command.make_context(command.name, args, parent=parent, resilient_parsing=False)


def test_every_vkpipe_command_exists_with_its_options(services: dict[str, Any]) -> None:
    vkpipe = typer.main.get_command(vkpipe_app)
    checked = 0
    for service in services.values():
        command = service.get("command")
        if command and command[0] == "vkpipe":
            _resolve(vkpipe, command[1:])
            checked += 1
        test = (service.get("healthcheck") or {}).get("test") or []
        if test[:2] == ["CMD", "vkpipe"]:
            _resolve(vkpipe, test[2:])
    assert checked == len(VKPIPE_SERVICES) + 1  # and the emulator


def test_the_worker_healthchecks_ping_their_own_node(services: dict[str, Any]) -> None:
    assert "inspect" in celery_cli.commands
    for name, queue in WORKERS.items():
        assert services[name]["command"] == ["vkpipe", "worker", queue]
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL"
        assert f"inspect ping -d {queue}@$$HOSTNAME" in test[1]


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["restart"] == "no"


def test_workers_scale_no_name_or_host_port_is_fixed(services: dict[str, Any]) -> None:
    for name in WORKERS:
        assert "container_name" not in services[name], name
        assert "ports" not in services[name], name
        assert "hostname" not in services[name], name


def test_one_metrics_volume_shared_by_every_vkpipe_service(services: dict[str, Any]) -> None:
    for name in VKPIPE_SERVICES:
        environment = services[name]["environment"]
        assert environment["PROMETHEUS_MULTIPROC_DIR"] == "/var/lib/vkpipe/metrics", name
        assert named_volumes(services[name])["/var/lib/vkpipe/metrics"] == "metrics", name


def test_the_image_creates_every_directory_a_volume_is_mounted_on(
    services: dict[str, Any],
) -> None:
    created = set(image_directories(ROOT / "Dockerfile"))
    for name, service in services.items():
        if "build" in service:
            assert set(named_volumes(service)) <= created, name
    assert "chown -R vkpipe /var/lib/vkpipe" in (ROOT / "Dockerfile").read_text()


def test_exports_are_written_and_served_from_one_volume(services: dict[str, Any]) -> None:
    assert named_volumes(services["worker-export"])["/var/lib/vkpipe/exports"] == "exports"
    assert named_volumes(services["api"])["/var/lib/vkpipe/exports"] == "exports"
    assert services["api"]["command"][-2:] == ["--export-dir", "/var/lib/vkpipe/exports"]


def test_secrets_come_from_files_never_from_the_file_or_a_url(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"://[^/\s\"']*:[^/\s\"']*@", text), "a password in a URL"
    for name, secret in compose["secrets"].items():
        assert secret["file"].startswith("./secrets/"), name
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|AUTH", key) and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key}={value} is a secret in the environment")
    postgres = compose["services"]["postgres"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    assert "/run/secrets/redis_password" in compose["services"]["redis"]["command"][-1]


def test_redis_keeps_queues_and_never_evicts_them(services: dict[str, Any]) -> None:
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" in command


def test_workers_shut_down_warm_with_memory_limits(services: dict[str, Any]) -> None:
    for name in WORKERS:
        assert services[name]["stop_signal"] == "SIGTERM", name
        assert services[name]["stop_grace_period"], name
        assert services[name]["mem_limit"], name


def test_exactly_one_beat_and_flower_requires_credentials(services: dict[str, Any]) -> None:
    assert services["beat"]["deploy"]["replicas"] == 1
    flower = services["flower"]
    assert flower["command"] == ["vkpipe", "flower"]
    assert flower["environment"]["VKPIPE_FLOWER_BASIC_AUTH_FILE"] == "/run/secrets/flower_auth"
    assert "flower_auth" in flower["secrets"]


def test_published_ports_are_on_loopback_only(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for published in service.get("ports") or []:
            assert str(published).startswith("127.0.0.1:"), name


def test_migrations_run_once_before_the_services(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["vkpipe", "db", "upgrade"]
    for name in VKPIPE_SERVICES[1:]:
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_emulator_profile_is_wired_through_vk_api_url(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["emulator"]["profiles"] == ["emulator"]
    assert all("profiles" not in s for n, s in services.items() if n != "emulator")
    wired = interpolate(services, {"VKPIPE_VK_API_URL": "http://emulator:8080/method"})
    assert wired["worker-fetch"]["environment"]["VKPIPE_VK_API_URL"].startswith("http://emulator:")
    default = interpolate(services, {})
    assert default["worker-fetch"]["environment"]["VKPIPE_VK_API_URL"] == "https://api.vk.ru/method"
    header = COMPOSE.read_text(encoding="utf-8").split("\nx-vkpipe-env", 1)[0]
    assert "VKPIPE_VK_API_URL=http://emulator:8080/method docker compose --profile emulator" in (
        " ".join(header.replace("#", " ").split())
    )


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("$$HOSTNAME", {}, "$HOSTNAME"),
        ("${A}-$A", {"A": "x"}, "x-x"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("${A:+set}", {"A": "1"}, "set"),
        ("${A:?}", {"A": "v"}, "v"),
    ],
)
def test_interpolation_follows_compose(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


def test_a_required_variable_that_is_missing_stops_interpolation() -> None:
    with pytest.raises(InterpolationError, match="A: set A"):
        interpolate({"x": ["${A:?set A}"]}, {})
