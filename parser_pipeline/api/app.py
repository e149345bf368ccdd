"""`create_app(settings)`: the FastAPI app with one Engine, the routers, auth and error bodies
(`web.app` mounts the workspace on it for `vkpipe api serve`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI
from sqlalchemy import Engine

from parser_pipeline import __version__
from parser_pipeline.api.deps import ApiState
from parser_pipeline.api.docs import OPENAPI_URL, install_docs
from parser_pipeline.api.errors import install_error_handlers
from parser_pipeline.api.http import HeadAsGet
from parser_pipeline.api.limits import MAX_BODY_BYTES, BodySizeLimit
from parser_pipeline.api.models import ErrorBody
from parser_pipeline.api.routes import (
    alerts,
    comments,
    exports,
    groups,
    health,
    jobs,
    keywords,
    reviews,
    stats,
)
from parser_pipeline.crawl.groups import GroupApi
from parser_pipeline.services import make_client, open_engine
from parser_pipeline.settings import Settings

# Where export files are written when the caller names no directory: beside the API process
# (the export workers must see the same directory, e.g. a shared volume).
DEFAULT_EXPORT_DIR: Final = Path("exports")

_DESCRIPTION = """\
vkpipe's HTTP API: monitored VK groups, keyword rules, comment search, crawl jobs, statistics
and exports. Every endpoint but `/health/live` and the documentation (`/docs`, `/redoc`,
`/openapi.json`) needs an API key (`vkpipe api-keys create NAME`), sent as
`Authorization: Bearer KEY` or `X-API-Key: KEY` (two different keys: 401); read-only keys cannot
change anything. An export belongs to the key that asked for it; admin keys see every export.
Every GET also answers HEAD. Errors are `{"error": {"code", "message", "details"}}`.
"""

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "the body cannot be read (a broken multipart upload)"),
        (401, "no API key, an unknown or revoked one, or two different ones"),
        (403, "a read-only key asked for a change"),
        (404, "no such object (or no such path)"),
        (405, "the path has no such method; the Allow header names those it has"),
        (409, "conflicts with stored data"),
        (413, "the request body is too large"),
        (422, "invalid input; details.fields names each field"),
        (502, "VK failed a group lookup"),
        (503, "the database (or VK access) is unavailable"),
    )
}


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    export_dir: Path | None = None,
    make_vk: Callable[[], GroupApi] | None = None,
    clock: Callable[[], datetime] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The API over `settings`' database. `engine` None: opened now (the schema must be at the
    newest migration) and disposed at shutdown. The VK client is made on the first group add."""
    owned = engine is None
    state = ApiState(
        settings=settings,
        engine=engine if engine is not None else open_engine(settings),
        export_dir=(export_dir or DEFAULT_EXPORT_DIR).absolute(),
        make_vk=make_vk or partial(make_client, settings),
        clock=clock or (lambda: datetime.now(UTC)),
    )

    app = FastAPI(
        title="vkpipe",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=state.lifespan(dispose_engine=owned),
        responses=_ERRORS,
        docs_url=None,  # served from local assets by install_docs, not from a CDN
        redoc_url=None,
        openapi_url=OPENAPI_URL,
    )
    app.state.api = state
    install_error_handlers(app)
    install_docs(app, "vkpipe")
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(HeadAsGet)
    for module in (health, groups, keywords, comments, reviews, jobs, stats, exports, alerts):
        app.include_router(module.router)
    return app
