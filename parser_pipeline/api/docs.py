"""The API's documentation pages, served offline: /docs (Swagger UI), /redoc, their assets.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (a blank page without internet, and a
third party that sees who reads the docs). The assets come from the pinned PyPI package
`fastapi-offline` instead, which ships exactly Swagger UI's bundle and CSS and ReDoc's
standalone bundle and needs nothing but FastAPI (drf-spectacular-sidecar ships the same files
but requires Django). The pages, the assets and `/openapi.json` need no API key: they describe
the API and hold no data.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

OPENAPI_URL: Final = "/openapi.json"
DOCS_URL: Final = "/docs"
REDOC_URL: Final = "/redoc"
ASSETS_URL: Final = "/docs/assets"
# The paths that answer without a key (with /health/live).
PUBLIC_PATHS: Final = (OPENAPI_URL, DOCS_URL, REDOC_URL, ASSETS_URL)


def assets_directory() -> Path:
    """Where fastapi-offline keeps swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js."""
    return Path(str(resources.files("fastapi_offline") / "static"))


def install_docs(app: FastAPI, title: str) -> None:
    """Serve /docs and /redoc from local assets (the app is made with docs_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_directory()), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{title}: API documentation",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=OPENAPI_URL,
            title=f"{title}: API documentation",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
