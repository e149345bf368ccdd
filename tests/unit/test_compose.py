"""compose.yaml is a complete, secret-free deployment whose commands exist in this project."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery.bin.celery import celery as celery_cli

from parser_pipeline.cli import app as vkpipe_app

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
REQUIRED_SERVICES = {
    "postgres",
    "redis",
    "migrate",
    "worker-fetch",
    "worker-analyze",
    "worker-export",
    "worker-dispatch",
    "beat",
    "flower",
    "health",
    "emulator",
}
WORKERS = ("worker-fetch", "worker-analyze", "worker-export", "worker-dispatch")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|AUTH", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_every_service_is_there_with_an_image_or_a_build(services: dict[str, Any]) -> None:
    assert set(services) >= REQUIRED_SERVICES
    for name, service in services.items():
        assert "image" in service or "build" in service, name
    assert (ROOT / "Dockerfile").is_file()


def _resolve(group: Any, argv: list[str]) -> None:
    """Parse argv against a click command tree: unknown commands or options raise UsageError.

    Duck-typed: typer carries its own copy of click, Celery uses the click package.
    """
    command = group
    parent = None
    args = list(argv)
    while hasattr(command, "get_command") and args and not args[0].startswith("-"):
        context = command.context_class(command, info_name=command.name, parent=parent)
        sub = command.get_command(context, args[0])
        assert sub is not None, f"no command {args[0]!r} in {argv}"
        parent, command, args = context, sub, args[1:]
    command.make_context(command.name, args, parent=parent, resilient_parsing=False)


def _commands(services: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(name, list(s["command"])) for name, s in services.items() if "command" in s]


def test_every_vkpipe_and_celery_command_exists(services: dict[str, Any]) -> None:
    import typer

    vkpipe = typer.main.get_command(vkpipe_app)
    checked = 0
    for name, command in _commands(services):
        if command[0] == "vkpipe":
            _resolve(vkpipe, command[1:])
            checked += 1
        elif command[0] == "celery":
            assert command[1:3] == ["-A", "workers"], name
            sub = command[3]
            if sub in ("worker", "beat"):
                known = {o for p in celery_cli.commands[sub].params for o in p.opts}
                known |= {o for p in celery_cli.params for o in p.opts}
                flags = {a.split("=")[0] for a in command[4:] if a.startswith("-")}
                assert flags <= known, f"{name}: unknown options {flags - known}"
            else:
                assert sub in celery_cli.commands or sub == "flower", name
            checked += 1
    assert checked >= 9


def test_no_secret_is_written_into_the_file(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    pattern = r"(?m)^\s*([A-Z_]*(?:PASSWORD|SECRET|TOKEN|AUTH)[A-Z_]*):\s*(.+)$"
    for match in re.finditer(pattern, text):
        if match.group(1).endswith("_FILE"):
            continue  # a path to a mounted secret, not the secret
        assert match.group(2).strip().startswith("${"), f"{match.group(1)} has a literal value"
    for url in re.findall(r"\w+://[^\s\"']+", text):
        credentials = url.split("://", 1)[1].split("@", 1)
        if len(credentials) == 2:
            assert "${" in credentials[0], f"credentials in {url}"
    assert compose["secrets"]["vk_tokens"]["file"].startswith("./secrets/")


def test_stateful_services_have_healthchecks_and_volumes(services: dict[str, Any]) -> None:
    for name in ("postgres", "redis", "flower", "health"):
        assert "test" in services[name]["healthcheck"], name
    assert any("pgdata" in v for v in services["postgres"]["volumes"])
    assert any("redisdata" in v for v in services["redis"]["volumes"])


def test_redis_keeps_queues_and_never_evicts_them(services: dict[str, Any]) -> None:
    command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" in command


def test_workers_shut_down_warm_with_memory_limits(services: dict[str, Any]) -> None:
    for name in WORKERS:
        service = services[name]
        assert service["stop_signal"] == "SIGTERM", name
        assert service["stop_grace_period"], name
        assert service["mem_limit"], name
        if "prefork" in service["command"]:
            assert "--max-tasks-per-child" in service["command"], name
    assert services["worker-fetch"]["command"][6:8] == ["-P", "threads"]


def test_exactly_one_beat_and_flower_requires_credentials(services: dict[str, Any]) -> None:
    assert services["beat"]["deploy"]["replicas"] == 1
    flower = services["flower"]
    assert "--conf=workers/flowerconfig.py" in flower["command"]
    assert flower["environment"]["VKPIPE_FLOWER_BASIC_AUTH"].startswith(
        "${VKPIPE_FLOWER_BASIC_AUTH:?"
    )


def test_migrations_run_once_before_the_services(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["vkpipe", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in (*WORKERS, "beat", "flower", "health"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_emulator_is_only_in_its_profile(services: dict[str, Any]) -> None:
    assert services["emulator"]["profiles"] == ["emulator"]
    assert all("profiles" not in s for n, s in services.items() if n != "emulator")


def test_secret_named_variables_are_interpolated_everywhere(services: dict[str, Any]) -> None:
    for name, service in services.items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert str(value).startswith("${"), f"{name}: {key}"
