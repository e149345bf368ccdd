"""The feed: filtered comments a page at a time, "new since you opened it", and reviewing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from parser_pipeline.api.deps import State
from parser_pipeline.api.params import CommentIdPath, GroupIdPath
from parser_pipeline.errors import NotFoundError
from parser_pipeline.store import feed, reviews
from parser_pipeline.store.engine import transaction
from parser_pipeline.store.names import ReviewState
from parser_pipeline.values import MAX_VK_ID, split_tags, utc
from parser_pipeline.web import views
from parser_pipeline.web.filters import read_form
from parser_pipeline.web.render import page
from parser_pipeline.web.session import PREFIX, PageError, Reviewer, SignedIn

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _values(request: Request) -> dict[str, object]:
    return read_form(request.query_params, request.query_params.getlist)


@router.get("/feed")
def feed_page(
    request: Request, state: State, viewer: SignedIn, cursor: str | None = None
) -> HTMLResponse:
    """The feed with its filter form; 422 with the errors next to their fields."""
    with state.engine.connect() as connection:
        view = views.feed_view(connection, dict(_values(request)), cursor)
    status = 422 if view.form.errors else 200
    return page(
        request, "feed.html", viewer, status, view=view, form=view.form,
        opened=state.clock().isoformat(),
    )  # fmt: skip


@router.get("/feed/items")
def feed_items(
    request: Request, state: State, viewer: SignedIn, cursor: str | None = None
) -> HTMLResponse:
    """The next page of the feed as a fragment (its items and the link to the one after)."""
    with state.engine.connect() as connection:
        view = views.feed_view(connection, dict(_values(request)), cursor, with_choices=False)
    return page(request, "_items.html", viewer, view=view, form=view.form)


@router.get("/feed/new")
def feed_new(
    request: Request,
    state: State,
    viewer: SignedIn,
    opened: Annotated[datetime, Query(description="when the page was opened")],
) -> HTMLResponse:
    """How many comments the feed's filter selects were stored since the page was opened."""
    with state.engine.connect() as connection:
        count, form = views.new_count(connection, dict(_values(request)), utc(opened))
    return page(request, "_new_count.html", viewer, count=count, cap=feed.NEW_COUNT_CAP, form=form)


def _key(text: str) -> reviews.Key:
    """`-100_5` (owner id, comment id) as a comment key; PageError for anything else."""
    owner, _, comment = text.partition("_")
    try:
        key = (int(owner), int(comment))
    except ValueError:
        raise PageError(422, f"{text!r} names no comment") from None
    if not (-MAX_VK_ID <= key[0] < 0 < key[1] <= MAX_VK_ID):
        raise PageError(422, f"{text!r} names no comment")
    return key


@router.post("/review")
def review(
    request: Request,
    state: State,
    viewer: Reviewer,
    comment: Annotated[list[str], Form(max_length=reviews.MAX_SELECTION)],
    set_state: Annotated[str, Form(alias="state")] = "",
    add_tags: Annotated[str, Form(max_length=1000)] = "",
    remove_tag: Annotated[list[str], Form()] = [],  # noqa: B006
    note: Annotated[str | None, Form(max_length=reviews.MAX_NOTE_CHARS)] = None,
) -> HTMLResponse:
    """Change the selected comments; answers their new rendering (swapped in place by htmx)
    and a status line for screen readers."""
    keys = [_key(text) for text in comment]
    if set_state and set_state not in {s.value for s in ReviewState}:
        raise PageError(422, "A review state is new, in_progress, done or irrelevant.")
    if "\x00" in (note or ""):
        raise PageError(422, "A note cannot contain a NUL character.")
    try:
        change = reviews.ReviewChange(
            state=ReviewState(set_state) if set_state else None,
            add_tags=split_tags(add_tags),
            remove_tags=tuple(t.lower() for t in remove_tag),
            note=note.replace("\r\n", "\n").strip() if note is not None else None,
        )
    except ValueError as exc:  # a tag that is not one
        raise PageError(422, f"Tags: {exc}.") from None
    try:
        with transaction(state.engine) as connection:
            done = reviews.apply_review(
                connection, keys, change, actor=viewer.key.name, now=state.clock()
            )
            items = feed.items_by_keys(connection, keys)
    except NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    return page(request, "_reviewed.html", viewer, items=items, changed=len(done))


@router.get("/comments/{group_id:int}/{comment_id:int}/history")
def history(
    request: Request,
    state: State,
    viewer: SignedIn,
    group_id: GroupIdPath,
    comment_id: CommentIdPath,
) -> HTMLResponse:
    """A comment's audit trail: who changed what, when (newest first)."""
    try:
        with state.engine.connect() as connection:
            _, events = reviews.review_detail(connection, (-group_id, comment_id))
    except NotFoundError as exc:
        raise PageError(404, str(exc)) from None
    return page(request, "_history.html", viewer, events=events)
