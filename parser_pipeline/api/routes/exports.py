"""/exports: request an export job (the dispatcher publishes it), list, get, download the file.

An export belongs to the API key that asked for it: a key lists, reads and downloads its own
exports (another key's are 404, as if they did not exist); an admin key sees every export.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader, ReaderKey, WriterKey, own_exports
from parser_pipeline.api.deps import ApiState, State
from parser_pipeline.api.errors import ApiError, conflict
from parser_pipeline.api.params import ExportId
from parser_pipeline.export import jobs as export_jobs
from parser_pipeline.export.filters import ExportOptions
from parser_pipeline.store.comment_filter import resolve_keyword_ids
from parser_pipeline.store.names import ExportFormat, export_format

router = APIRouter(prefix="/exports", tags=["exports"], dependencies=[Reader])

MAX_PAGE: Final = 500
_FILE_RESPONSE: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "the exported file",
        "content": {fmt.media_type: {} for fmt in ExportFormat},
    }
}


def _servable(state: ApiState, row: Any) -> Path | None:
    """The file of a finished export if this API may serve it (in its export directory)."""
    if row.status != "succeeded":
        return None
    path = Path(row.path).resolve()
    if not path.is_relative_to(state.export_dir.resolve()) or not path.is_file():
        return None
    return path


def _out(state: ApiState, row: Any) -> models.ExportOut:
    return models.ExportOut(
        id=row.id,
        format=row.format,
        status=row.status,
        rows=row.rows,
        error=row.error,
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        filters=row.filters,
        file_name=Path(row.path).name,
        download_url=f"/exports/{row.id}/file" if _servable(state, row) else None,
    )


@router.post("", response_model=models.ExportOut, status_code=202)
def create_export(state: State, key: WriterKey, body: models.ExportCreate) -> models.ExportOut:
    """Queue an export of the comments the filters select; the file is named by the server."""
    with state.engine.connect() as connection:
        resolve_keyword_ids(connection, body.filters)  # an unknown keyword is a 404 now
    state.export_dir.mkdir(parents=True, exist_ok=True)
    path = state.export_dir / f"export-{uuid.uuid4().hex}.{body.format}"
    job_id = export_jobs.request_export(
        state.engine,
        body.filters,
        body.format,
        path,
        options=ExportOptions(excel=body.excel),
        requested_by="api",
        api_key_id=key.id,
        now=state.clock(),
    )
    return _out(state, export_jobs.get_export_job(state.engine, job_id))


@router.get("", response_model=models.ExportPage)
def list_exports(
    state: State,
    key: ReaderKey,
    status: models.ExportStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
) -> models.ExportPage:
    """The key's exports (every export for an admin key), newest first."""
    rows = export_jobs.list_export_jobs(
        state.engine, status=status, limit=limit, of_key=own_exports(key)
    )
    return models.ExportPage(items=[_out(state, r) for r in rows])


@router.get("/{job_id:int}", response_model=models.ExportOut)
def get_export(state: State, key: ReaderKey, job_id: ExportId) -> models.ExportOut:
    return _out(state, export_jobs.get_export_job(state.engine, job_id, of_key=own_exports(key)))


@router.get("/{job_id:int}/file", response_class=FileResponse, responses=_FILE_RESPONSE)
def download_export(state: State, key: ReaderKey, job_id: ExportId) -> FileResponse:
    """The file of a finished export (409 while it is not); only files in the API's export
    directory are served."""
    row = export_jobs.get_export_job(state.engine, job_id, of_key=own_exports(key))
    if row.status != "succeeded":
        raise conflict("export_not_ready", f"export {job_id} is {row.status}", status=row.status)
    path = _servable(state, row)
    if path is None:
        raise ApiError(404, "not_found", f"the file of export {job_id} is not available here")
    return FileResponse(path, media_type=export_format(row.format).media_type, filename=path.name)
