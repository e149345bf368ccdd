"""Who uses the workspace: a session cookie exchanged for an API key, CSRF checks on changes.

The cookie is HttpOnly (no script reads it), SameSite=Lax (other sites' forms and scripts
never carry it) and Secure when the request came over HTTPS, or always when
VKPIPE_WORKSPACE_SECURE_COOKIE says so (behind a proxy that terminates TLS). Every request
that changes something must carry the session's CSRF token (a form field or the
`X-CSRF-Token` header that htmx sends) and, when the browser names one, an Origin of this host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Final
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response

from parser_pipeline.api.deps import State
from parser_pipeline.store import sessions
from parser_pipeline.store.api_keys import ApiKey

COOKIE: Final = "vkpipe_session"
PREFIX: Final = "/workspace"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
_FORMS: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


class SignInRequired(Exception):
    """No live session: the page sends the browser to sign in, then back to `target`."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class PageError(Exception):
    """A failure shown as a page (or, for htmx, a fragment): a status and one sentence."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in key and the CSRF token its pages carry."""

    key: ApiKey
    csrf: str
    token: str

    @property
    def can_review(self) -> bool:
        return not self.key.read_only


def secure_cookie(request: Request, mode: str) -> bool:
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def set_session_cookie(response: Response, request: Request, state: State, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(timedelta(hours=state.settings.workspace_session_hours).total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request, state.settings.workspace_secure_cookie),
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="lax")


def safe_target(target: str | None) -> str:
    """Where to go after signing in: a workspace path of this site, nothing else (pure)."""
    if not target:
        return f"{PREFIX}/feed"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/"):
        return f"{PREFIX}/feed"
    return target


def sign_in_url(target: str) -> str:
    return f"{PREFIX}/sign-in?next={quote(target, safe='')}"


def viewer(request: Request, state: State) -> Viewer:
    """The signed-in viewer; SignInRequired without a live session."""
    token = request.cookies.get(COOKIE)
    key = sessions.session_key(state.engine, token, state.clock()) if token else None
    if key is None or token is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target if request.method == "GET" else f"{PREFIX}/feed")
    request.state.api_key_name = key.name
    return Viewer(key, sessions.csrf_token(token), token)


def same_origin(request: Request) -> bool:
    """False when the browser names another site as the request's origin (pure on headers)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


async def checked(request: Request, seen: Annotated[Viewer, Depends(viewer)]) -> Viewer:
    """A viewer whose request carries its CSRF token from a page of this site (403 if not)."""
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(_FORMS):
        value = (await request.form()).get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not same_origin(request) or not sessions.csrf_matches(seen.token, presented):
        raise PageError(403, "This form has expired or came from another site; reload the page.")
    return seen


def reviewer(seen: Annotated[Viewer, Depends(checked)]) -> Viewer:
    """A checked viewer whose key may change data (403 for a read-only key)."""
    if not seen.can_review:
        raise PageError(
            403, f"The API key {seen.key.name!r} is read-only: it can read, not review."
        )
    return seen


SignedIn = Annotated[Viewer, Depends(viewer)]
Checked = Annotated[Viewer, Depends(checked)]
Reviewer = Annotated[Viewer, Depends(reviewer)]
