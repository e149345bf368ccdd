"""Sign in with an API key (exchanged for a session cookie), sign out."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from parser_pipeline.api.deps import State
from parser_pipeline.store import api_keys as keys
from parser_pipeline.store import sessions
from parser_pipeline.web.render import page
from parser_pipeline.web.session import (
    COOKIE,
    PREFIX,
    Checked,
    PageError,
    clear_session_cookie,
    safe_target,
    same_origin,
    set_session_cookie,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/feed", status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    """The sign-in page: one field, the API key."""
    return page(
        request, "sign_in.html", None, target=safe_target(next), signed_out=signed_out, error=None
    )


@router.post("/sign-in")
def sign_in(
    request: Request,
    state: State,
    key: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Exchange a working API key for a session; the form again, with the error, if it is not."""
    if not same_origin(request):
        raise PageError(403, "This form came from another site.")
    found = keys.authenticate(state.engine, key, state.clock()) if key.strip() else None
    if found is None:
        error = "Enter an API key." if not key.strip() else "This key is unknown or revoked."
        return page(
            request, "sign_in.html", None, 401, target=safe_target(next), signed_out=False,
            error=error,
        )  # fmt: skip
    lifetime = timedelta(hours=state.settings.workspace_session_hours)
    token = sessions.create_session(state.engine, found, now=state.clock(), lifetime=lifetime)
    response = RedirectResponse(safe_target(next), status_code=303)
    set_session_cookie(response, request, state, token)
    return response


@router.post("/sign-out")
def sign_out(request: Request, state: State, viewer: Checked) -> Response:
    """End the session: its cookie opens nothing any more."""
    sessions.end_session(state.engine, request.cookies.get(COOKIE, viewer.token))
    response = RedirectResponse(f"{PREFIX}/sign-in?signed_out=true", status_code=303)
    clear_session_cookie(response)
    return response
