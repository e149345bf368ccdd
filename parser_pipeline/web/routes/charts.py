"""Charts: the page (drawn in the browser) and the JSON it draws from, computed by the server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from parser_pipeline.api import models
from parser_pipeline.api.deps import State
from parser_pipeline.web import views
from parser_pipeline.web.filters import read_form
from parser_pipeline.web.render import page
from parser_pipeline.web.session import PREFIX, SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The quick date ranges offered, in days up to today.
RANGES: Final = (7, 30, 90, 365)


def _values(request: Request) -> dict[str, Any]:
    return read_form(request.query_params, request.query_params.getlist)


@router.get("/charts")
def charts_page(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    """The charts' filter form; the browser fetches the numbers from /charts/data.json."""
    with state.engine.connect() as connection:
        view = views.charts_view(connection, _values(request), data=False)
    status = 422 if view.form.errors else 200
    today = state.clock().date()
    ranges = [(days, (today - timedelta(days=days - 1)).isoformat()) for days in RANGES]
    return page(request, "charts.html", viewer, status, view=view, form=view.form, ranges=ranges)


@router.get("/charts/data.json")
def charts_data(request: Request, state: State, viewer: SignedIn) -> JSONResponse:
    """The statistics of `GET /stats` (the numbers of `vkpipe stats`) for the charts' filter,
    with the groups' names; 422 with the form's errors."""
    with state.engine.connect() as connection:
        view = views.charts_view(connection, _values(request), data=True)
    if view.report is None:
        return JSONResponse({"errors": view.form.errors}, status_code=422)
    stats = models.StatsOut(group_id=None, **view.report.as_fields())
    return JSONResponse(
        {
            "stats": stats.model_dump(mode="json"),
            "group_names": {str(k): v for k, v in view.group_names.items()},
        }
    )
