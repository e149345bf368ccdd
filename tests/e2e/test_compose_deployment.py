"""compose.yaml starts: every service's command, with exactly compose's environment, in a root
laid out like the image, runs against local PostgreSQL and Redis, passes its healthcheck, and
the deployment crawls; three fetch replicas get three names; /metrics adds up the workers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from composekit import REPO, Deployment
from fleet import TOKENS, jobs_final
from parser_pipeline.store.schema import vk_comments
from probes import get, metric_sum

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

# Passwords with the characters that used to break URLs.
SECRETS = {
    "postgres_password": "pg@ss:w/rd#1\n",
    "redis_password": "r3d@s:/pw%?\n",
    "flower_auth": "ops:fl@wer:pw\n",
    "vk_tokens": "\n".join(TOKENS) + "\n",
}
FLOWER_AUTH = "ops:fl@wer:pw"
# What an operator types to use the emulator profile (compose.yaml's header).
SHELL_ENV = {"VKPIPE_VK_API_URL": "http://emulator:8080/method"}
WORKERS = ("worker-analyze", "worker-export", "worker-dispatch", "worker-notify")
# Three replicas need hostnames of their own, which a non-root run cannot give a process.
FETCH_REPLICAS = 3 if os.geteuid() == 0 else 1
LONG_RUNNING = ("beat", "flower", "health", "api")
# Two of the emulator's communities (compose's emulator serves the `standard` world): a wall of
# 60 posts, its comments and threads, spread over the fetch replicas, and a closed one (error 15
# on its wall, a job that still ends). The whole world's crawl is other tests' subject.
GROUPS = ("shkoly_goroda", "zakrytyi_klub")


@pytest.fixture
def image_root() -> Iterator[Path]:
    """A directory the image's user can reach (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="vkpipe-compose-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database(postgres_server: str) -> Iterator[str]:
    """A database owned by compose's user `vkpipe` (the local server trusts it)."""
    name = f"vkpipe_compose_{os.getpid()}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'vkpipe'")).first():
            connection.execute(text("CREATE ROLE vkpipe LOGIN"))
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER vkpipe'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_compose_deployment_starts_scales_and_crawls(
    image_root: Path, database: str, postgres_server: str
) -> None:
    compose: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    hosts = {"postgres:5432": "127.0.0.1:5432"}
    dep = Deployment.lay_out(
        image_root, compose, shell_env=SHELL_ENV, secrets=SECRETS, hosts=hosts, database=database
    )
    redis_port = dep.port("redis", "6379")
    hosts["redis:6379"] = f"127.0.0.1:{redis_port}"
    hosts["emulator:8080"] = f"127.0.0.1:{dep.port('emulator', '8080')}"
    # Redis is the image's own program: only where it listens changes.
    dep.extra_args["redis"] = {
        "redis-server ": f"redis-server --port {redis_port} --bind 127.0.0.1 ",
        "redis-cli ": f"redis-cli -p {redis_port} ",
    }
    try:
        dep.start("redis", cwd=dep.container_root("redis", "redis") / "data")
        dep.wait_for(lambda: dep.healthy("redis"), "Redis with the password from its secret")
        dep.start("emulator")
        dep.wait_for(lambda: dep.healthy("emulator"), "the emulator")

        migrate = dep.run("migrate", dep.services["migrate"]["command"])
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr

        for index in range(1, FETCH_REPLICAS + 1):
            dep.start("worker-fetch", f"worker-fetch-{index}" if FETCH_REPLICAS > 1 else None)
        for name in (*WORKERS, *LONG_RUNNING):
            dep.start(name)
        fetch_replicas = [r for r in dep.processes if r.startswith("worker-fetch")]
        for replica in fetch_replicas:
            dep.wait_for(lambda r=replica: dep.healthy("worker-fetch", r), f"{replica}'s ping")
        for name in (*WORKERS, "flower", "health", "api", "beat"):
            dep.wait_for(lambda n=name: dep.healthy(n), f"{name}'s healthcheck")

        added = dep.run("api", ["vkpipe", "groups", "add", *GROUPS])
        assert added.returncode == 0, added.stderr
        admin_url = make_url(postgres_server).set(database=database)
        engine = create_engine(admin_url)
        try:
            dep.wait_for(jobs_final(engine, len(GROUPS)), "the crawl of every group")
            with engine.connect() as connection:
                stored = connection.execute(select(func.count()).select_from(vk_comments)).scalar()
        finally:
            engine.dispose()
        assert stored

        health = f"http://127.0.0.1:{dep.port('health', '8088')}"
        status, metrics = get(f"{health}/metrics")
        assert status == 200
        assert metric_sum(metrics, "vkpipe_vk_requests_total") > 0
        assert metric_sum(metrics, "vkpipe_comments_stored_total") >= stored

        flower = f"http://127.0.0.1:{dep.port('flower', '5555')}/api/workers?refresh=1"
        assert get(flower)[0] == 401
        status, body = get(flower, auth=FLOWER_AUTH)
        assert status == 200, body
        nodes = set(json.loads(body))
        fetch_nodes = {n for n in nodes if n.startswith("fetch@")}
        assert len(fetch_nodes) == FETCH_REPLICAS, nodes
        host = socket.gethostname()
        assert {f"{q}@{host}" for q in ("analyze", "export", "dispatch", "notify")} <= nodes

        status, body = get(f"http://127.0.0.1:{dep.port('api', '8000')}/health/ready")
        assert status == 200, body
        assert all("detail" not in check for check in json.loads(body)["checks"])
    finally:
        codes = dep.stop()
    assert all(code != "killed" for code in codes.values()), codes
