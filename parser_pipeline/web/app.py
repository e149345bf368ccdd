"""What `vkpipe api serve` serves: the HTTP API with the analysts' workspace mounted on it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from parser_pipeline.api.app import create_app as create_api_app
from parser_pipeline.settings import Settings
from parser_pipeline.web import install_workspace


def create_app(settings: Settings, **options: Any) -> FastAPI:
    """The API (`api.app.create_app`, the same `options`) with the workspace's pages."""
    app = create_api_app(settings, **options)
    install_workspace(app)
    return app
