"""`vkpipe doctor` and `vkpipe serve-health`: is everything vkpipe needs there, and healthy?"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import redis
import typer
from rich.table import Table
from sqlalchemy import func, select

from parser_pipeline.cli.base import console, settings_of
from parser_pipeline.constants import ALL_QUEUES
from parser_pipeline.health import Check, healthy, readiness, run_checks
from parser_pipeline.metrics import LiveGauges, exposition
from parser_pipeline.settings import Settings
from parser_pipeline.store.engine import make_engine
from parser_pipeline.store.schema import crawl_jobs

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def _worker_checks(settings: Settings) -> Callable[[], list[Check]]:
    """The workers are asked through Celery; only the CLI process loads it, and only for this."""

    def ask() -> list[Check]:
        app = importlib.import_module("workers.app").app
        health = importlib.import_module("workers.health")
        checks: list[Check] = health.worker_checks(app)
        return checks

    return ask


def doctor(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
    skip_vk: Annotated[
        bool, typer.Option("--skip-vk", help="Do not call VK to validate the tokens.")
    ] = False,
) -> None:
    """Check the database, Redis, broker, workers, beat, VK tokens and package versions."""
    settings = settings_of(ctx)
    checks = run_checks(settings, worker_checks=_worker_checks(settings), include_vk=not skip_vk)
    ok = healthy(checks)
    if as_json:
        print(json.dumps({"healthy": ok, "checks": [c.to_json() for c in checks]}, indent=2))
    else:
        table = Table("check", "verdict", "detail", title="vkpipe doctor")
        for c in checks:
            table.add_row(c.name, f"[{_STYLE[c.verdict]}]{c.verdict}[/]", c.detail)
        console.print(table)
        console.print("[green]healthy[/]" if ok else "[bold red]unhealthy[/]: see the failed lines")
    if not ok:
        raise typer.Exit(1)


def _queue_lengths(settings: Settings) -> Callable[[], dict[str, int]]:
    def lengths() -> dict[str, int]:
        if not settings.broker_url or not settings.broker_url.startswith(("redis", "rediss")):
            return {}
        client: redis.Redis[Any] = redis.Redis.from_url(settings.broker_url, socket_timeout=2)
        try:
            # Celery's Redis transport keeps one list per queue and priority step.
            return {
                queue: sum(int(client.llen(key)) for key in client.scan_iter(f"{queue}*"))
                for queue in ALL_QUEUES
            }
        except redis.RedisError:
            return {}
        finally:
            client.close()

    return lengths


def _oldest_job_age(settings: Settings) -> Callable[[], float | None]:
    engine = make_engine(settings.database_url)

    def age() -> float | None:
        with engine.connect() as connection:
            oldest = connection.execute(
                select(func.min(crawl_jobs.c.created_at)).where(
                    crawl_jobs.c.status.in_(("queued", "running"))
                )
            ).scalar()
        if oldest is None:
            return None
        started: datetime = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
        return (datetime.now(UTC) - started).total_seconds()

    return age


def make_health_handler(settings: Settings) -> type[BaseHTTPRequestHandler]:
    gauges = LiveGauges(_queue_lengths(settings), _oldest_job_age(settings))

    class HealthHandler(BaseHTTPRequestHandler):
        server_version = "vkpipe-health"

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/health/live":
                self._reply(HTTPStatus.OK, {"status": "alive"})
            elif path == "/health/ready":
                checks = readiness(settings)
                ready = healthy(checks)
                body = {
                    "status": "ready" if ready else "not ready",
                    "checks": [c.to_json() for c in checks],
                }
                self._reply(HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE, body)
            elif path == "/metrics":
                payload = exposition(gauges)
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            else:
                self._reply(HTTPStatus.NOT_FOUND, {"error": f"no such path {path}"})

        def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return  # probes every few seconds would flood the log

    return HealthHandler


def serve_health(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8088,
) -> None:
    """Serve /health/live, /health/ready and /metrics for load balancers and Prometheus."""
    settings = settings_of(ctx)
    server = ThreadingHTTPServer((host, port), make_health_handler(settings))
    console.print(
        f"vkpipe health on http://{host}:{server.server_port}: "
        "/health/live, /health/ready, /metrics"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
