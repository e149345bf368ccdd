"""The analyst workspace: server-rendered pages under /workspace, served by `vkpipe api serve`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from parser_pipeline.web.render import STATIC_DIR, is_htmx, templates
from parser_pipeline.web.routes import auth, charts, feed, manage
from parser_pipeline.web.session import PREFIX, PageError, SignInRequired, sign_in_url


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    url = sign_in_url(exc.target)
    if is_htmx(request):  # htmx follows this header with a full page load
        return Response(status_code=401, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _page_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageError)
    name = "_error.html" if is_htmx(request) else "error.html"
    return templates.TemplateResponse(
        request, name, {"viewer": None, "message": exc.message}, status_code=exc.status
    )


def install_workspace(app: FastAPI) -> None:
    """The workspace's pages, its assets at /workspace/static, and its two page answers."""
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(PageError, _page_error)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="workspace-static")
    for module in (auth, feed, charts, manage):
        app.include_router(module.router)
