"""/jobs: request crawls (rows only; the dispatcher publishes them), list, progress, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader, Writer
from parser_pipeline.api.deps import State
from parser_pipeline.api.params import JobId
from parser_pipeline.api.views import job_out
from parser_pipeline.orchestration import requests

router = APIRouter(prefix="/jobs", tags=["jobs"], dependencies=[Reader])

MAX_PAGE = 500


@router.post("", response_model=models.CrawlCreated, status_code=202, dependencies=[Writer])
def start_crawl(state: State, body: models.CrawlCreate) -> models.CrawlCreated:
    """A queued crawl job per group (or its unfinished one): written to the database, where
    the dispatcher finds it; no broker is needed to accept it."""
    asked = requests.request_crawl(
        state.engine,
        body.groups,
        requested_by="api",
        priority=body.priority,
        full_verify=body.full_verify,
        now=state.clock(),
    )
    return models.CrawlCreated(
        jobs=[
            models.CrawlRequested(group_id=r.group_id, job_id=r.job_id, created=r.created)
            for r in asked
        ]
    )


@router.get("", response_model=models.JobPage)
def list_jobs(
    state: State,
    status: models.JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
) -> models.JobPage:
    """The newest jobs first."""
    rows = requests.list_jobs(state.engine, status=status, limit=limit)
    return models.JobPage(items=[job_out(r) for r in rows])


@router.get("/{job_id:int}", response_model=models.JobDetail)
def get_job(state: State, job_id: JobId) -> models.JobDetail:
    """A job with its stage, the posts it reads by status, its VK calls by status, and the
    posts whose reading failed."""
    job = requests.get_job(state.engine, job_id)
    progress = requests.progress_of(state.engine, job_id)
    return models.JobDetail(
        job=job_out(job),
        progress=models.JobProgress(
            stage=progress.stage,
            posts_by_status=progress.reads,
            calls_by_status=progress.calls,
        ),
        errors=[models.PostError(post=post, error=error) for post, error in progress.failed_posts],
    )


@router.post("/{job_id:int}/cancel", response_model=models.CancelResult, dependencies=[Writer])
def cancel_job(state: State, job_id: JobId) -> models.CancelResult:
    """Cancel: queued work is skipped, running batches finish. Asking again, or for a job that
    has ended, changes nothing and answers the same: the job's status (200)."""
    status = requests.cancel_job(state.engine, job_id, state.clock())
    return models.CancelResult(id=job_id, status=status)
