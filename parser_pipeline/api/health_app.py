"""`vkpipe serve-health`: the API's own /health routes plus /metrics, without the rest of it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from fastapi import FastAPI
from fastapi.responses import Response
from sqlalchemy import Engine

from parser_pipeline import __version__, gauges
from parser_pipeline.api.app import DEFAULT_EXPORT_DIR
from parser_pipeline.api.deps import ApiState
from parser_pipeline.api.errors import install_error_handlers
from parser_pipeline.api.routes import health
from parser_pipeline.metrics import LiveGauges, exposition
from parser_pipeline.services import make_client
from parser_pipeline.settings import Settings
from parser_pipeline.store.engine import make_engine

# The text exposition format Prometheus scrapes.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def fleet_gauges(settings: Settings, engine: Engine, clock: Callable[[], datetime]) -> LiveGauges:
    """The gauges /metrics reads when scraped, from the broker and the database."""
    return LiveGauges(
        queue_lengths=partial(gauges.queue_lengths, settings.broker_url),
        oldest_unfinished_job_age=lambda: gauges.oldest_unfinished_job_age(engine, clock()),
        beat_age=lambda: gauges.beat_age(engine, clock()),
        workers=lambda: gauges.workers_per_queue(engine, clock()),
        quota_remaining=lambda: gauges.quota_remaining(settings, clock()),
        alert_deliveries=lambda: gauges.alert_deliveries(engine),
    )


def create_health_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """/health/live, /health/ready, /health/versions and /metrics over `settings`' database.

    It starts while the database is down (and answers "not ready" until it is up): a probe
    must be able to say what is wrong.
    """
    owned = engine is None
    now = clock or (lambda: datetime.now(UTC))
    state = ApiState(
        settings=settings,
        engine=engine if engine is not None else make_engine(settings.database_url),
        export_dir=DEFAULT_EXPORT_DIR.absolute(),
        make_vk=partial(make_client, settings),
        clock=now,
    )

    app = FastAPI(
        title="vkpipe health",
        version=__version__,
        lifespan=state.lifespan(dispose_engine=owned),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.api = state
    install_error_handlers(app)
    app.include_router(health.router)
    live = fleet_gauges(settings, state.engine, now)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Every counter of this host's vkpipe processes, and the fleet's live gauges."""
        return Response(exposition(live), media_type=METRICS_CONTENT_TYPE)

    return app
