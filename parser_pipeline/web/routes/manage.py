"""Groups (last crawl, errors, effective interval, crawl now), jobs (progress, cancel), keywords
(test a rule on a text, import, export, exclusion suggestions)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from parser_pipeline.analyze import store as keyword_store
from parser_pipeline.analyze.rules import KeywordSpec, keywords_csv, make_spec
from parser_pipeline.analyze.trial import import_rules, trial_rule, try_rules
from parser_pipeline.api.deps import State
from parser_pipeline.api.limits import read_text_upload
from parser_pipeline.api.routes.keywords import REMATCH_HINT
from parser_pipeline.errors import NotFoundError
from parser_pipeline.orchestration import requests
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.schema import MATCH_MODES, UNFINISHED_JOB_STATUSES
from parser_pipeline.web import views
from parser_pipeline.web.render import is_htmx, page
from parser_pipeline.web.session import PREFIX, Checked, PageError, Reviewer, SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# Jobs listed on the jobs page, newest first.
JOBS_SHOWN: Final = 50


@router.get("/groups")
def groups_page(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    """The monitored groups with their last crawl, errors and effective interval."""
    with state.engine.connect() as connection:
        groups = views.choices(connection).groups
    return page(request, "groups.html", viewer, groups=groups)


@router.post("/groups/{group_id:int}/crawl")
def crawl_now(state: State, viewer: Reviewer, group_id: int) -> Response:
    """A crawl job for the group, as `POST /jobs` writes it (the dispatcher starts it)."""
    try:
        (asked,) = requests.request_crawl(
            state.engine, [str(group_id)], requested_by="api", now=state.clock()
        )
    except NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    return RedirectResponse(f"{PREFIX}/jobs?asked={asked.job_id}", status_code=303)


@router.get("/jobs")
def jobs_page(
    request: Request, state: State, viewer: SignedIn, asked: int | None = None
) -> HTMLResponse:
    """The newest jobs, with the progress of the unfinished ones."""
    jobs = requests.list_jobs(state.engine, limit=JOBS_SHOWN)
    progress = {
        job.id: requests.progress_of(state.engine, job.id)
        for job in jobs
        if job.status in UNFINISHED_JOB_STATUSES
    }
    return page(request, "jobs.html", viewer, jobs=jobs, progress=progress, asked=asked)


@router.post("/jobs/{job_id:int}/cancel")
def cancel(state: State, viewer: Reviewer, job_id: int) -> Response:
    try:
        requests.cancel_job(state.engine, job_id, state.clock())
    except NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    return RedirectResponse(f"{PREFIX}/jobs", status_code=303)


def _keywords_page(
    request: Request, state: State, viewer: SignedIn, status: int = 200, **extra: object
) -> HTMLResponse:
    with state.engine.connect() as connection:
        view = views.keywords_view(connection)
    context: dict[str, object] = {
        "trial": None,
        "trial_form": {},
        "errors": {},
        "imported": None,
        "added": None,
    }
    return page(request, "keywords.html", viewer, status, view=view, modes=MATCH_MODES,
                **(context | extra))  # fmt: skip


@router.get("/keywords")
def keywords_page(request: Request, state: State, viewer: SignedIn) -> HTMLResponse:
    return _keywords_page(request, state, viewer)


@router.post("/keywords/test")
def rule_trial(
    request: Request,
    state: State,
    viewer: Checked,
    text: Annotated[str, Form(max_length=100_000)] = "",
    phrase: Annotated[str, Form(max_length=500)] = "",
    category: Annotated[str, Form(max_length=255)] = "",
    mode: Annotated[str, Form()] = "word_forms",
) -> HTMLResponse:
    """What a rule being written (or, without a phrase, every active rule) finds in a text."""
    form = {"text": text, "phrase": phrase, "category": category, "mode": mode}
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = "Paste a text to test the rules on."
    rules = []
    if phrase.strip():
        try:
            rules = [trial_rule(make_spec(phrase, category, mode))]
        except ValueError as exc:
            errors["phrase"] = str(exc)
    elif not errors:
        with state.engine.connect() as connection:
            rules = keyword_store.active_rules(connection)
    trial = try_rules(rules, text) if not errors else None
    context = {"trial": trial, "trial_form": form, "errors": errors, "trial_text": text}
    status = 422 if errors else 200
    if is_htmx(request):
        return page(request, "_rule_test.html", viewer, status, modes=MATCH_MODES, **context)
    return _keywords_page(request, state, viewer, status, **context)


@router.post("/keywords/import")
def import_keywords(
    request: Request,
    state: State,
    viewer: Reviewer,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Add the rules of a keywords CSV; the page then lists what each line became."""
    upload = read_text_upload(file)
    imported, problems = import_rules(state.engine, upload.text)
    report = {"imported": imported, "problems": sorted([*upload.problems, *problems],
                                                       key=lambda p: p.line)}  # fmt: skip
    return _keywords_page(request, state, viewer, imported=report, hint=REMATCH_HINT)


@router.get("/keywords.csv")
def export_keywords(state: State, viewer: SignedIn) -> Response:
    """The active rules as CSV, the format `vkpipe keywords import` and the import here read."""
    with state.engine.connect() as connection:
        rules = keyword_store.active_rules(connection)
    return Response(
        keywords_csv(rules),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="keywords.csv"'},
    )


@router.post("/keywords/exclusions")
def add_exclusion(
    request: Request,
    state: State,
    viewer: Reviewer,
    word: Annotated[str, Form(max_length=500)],
    category: Annotated[str, Form(max_length=255)],
) -> HTMLResponse:
    """A suggested word as an exclusion rule of its category (word_forms: every form)."""
    try:
        spec: KeywordSpec = make_spec(word, category, "word_forms", is_exclusion=True)
    except ValueError as exc:
        raise PageError(422, str(exc)) from None
    with transaction(state.engine) as connection:
        (added,) = keyword_store.add_keywords(connection, [spec])
    return _keywords_page(request, state, viewer, added=(spec, added.created), hint=REMATCH_HINT)
