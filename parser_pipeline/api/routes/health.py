"""/health: liveness and readiness verdicts (no key; details with one), versions (key).

The same router serves the API and `vkpipe serve-health` (api/health_app.py): one shape.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Final

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from parser_pipeline import __version__
from parser_pipeline.api import models
from parser_pipeline.api.auth import OptionalKey, Reader
from parser_pipeline.api.deps import State
from parser_pipeline.health import readiness, report

router = APIRouter(prefix="/health", tags=["health"])

# Packages whose versions /health/versions shows: the API's own stack and the store's.
SHOWN_PACKAGES: Final = (
    "fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "psycopg", "celery", "kombu",
    "redis",
)  # fmt: skip


@router.get("/live", response_model=models.Live)
def live() -> models.Live:
    """The process answers; needs no key (for load balancers and orchestrators)."""
    return models.Live()


@router.get(
    "/ready",
    response_model=models.Ready,
    responses={503: {"model": models.Ready, "description": "not ready"}},
    # A key is optional here (the empty requirement): without one the verdicts, with one the
    # details. The document says so, so clients and fuzzers know a bare request is fine.
    openapi_extra={"security": [{}, {"HTTPBearer": []}, {"APIKeyHeader": []}]},
)
def ready(state: State, key: OptionalKey) -> JSONResponse:
    """The database is at the newest migration, the broker answers and every required queue
    (VKPIPE_HEALTH_REQUIRED_QUEUES) has a live worker. Without a key: the verdicts only."""
    body = models.Ready.model_validate(report(readiness(state.settings), detailed=key is not None))
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True), status_code=200 if body.ready else 503
    )


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@router.get("/versions", response_model=models.Versions, dependencies=[Reader])
def versions() -> models.Versions:
    return models.Versions(
        vkpipe=__version__,
        python=platform.python_version(),
        packages={name: _version(name) for name in SHOWN_PACKAGES},
    )
