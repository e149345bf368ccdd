"""/comments: search with filters, two sort orders and keyset pages; one comment with its thread."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from parser_pipeline.api import models
from parser_pipeline.api.auth import Reader
from parser_pipeline.api.deps import State
from parser_pipeline.api.errors import invalid
from parser_pipeline.api.params import NO_NUL, CommentIdPath, CommentQuery, GroupIdPath, QueryText
from parser_pipeline.api.views import comments_out, post_out
from parser_pipeline.store import search
from parser_pipeline.store.comments import comment_thread

router = APIRouter(prefix="/comments", tags=["comments"], dependencies=[Reader])


@router.get("", response_model=models.CommentPage)
def search_comments(
    state: State,
    f: CommentQuery,
    sort: Annotated[
        search.Sort, Query(description="-date (newest first), date, -likes, likes")
    ] = "-date",
    limit: Annotated[int, Query(ge=1, le=search.MAX_LIMIT)] = search.DEFAULT_LIMIT,
    cursor: Annotated[
        QueryText | None,
        Query(description="next_cursor of the previous page", json_schema_extra=NO_NUL),
    ] = None,
) -> models.CommentPage:
    """Stored comments, newest (or most liked) first, each with its links, author and matches."""
    try:
        after = search.decode_cursor(cursor, sort) if cursor else None
    except search.CursorError as exc:
        raise invalid("cursor", str(exc), "query") from None
    with state.engine.connect() as connection:
        page = search.search(connection, f, sort, after, limit)
        items = comments_out(connection, page.rows)
    return models.CommentPage(items=items, limit=limit, next_cursor=page.next_cursor)


@router.get("/{group_id:int}/{comment_id:int}", response_model=models.CommentThread)
def get_comment(
    state: State, group_id: GroupIdPath, comment_id: CommentIdPath
) -> models.CommentThread:
    """One comment with its post and its whole thread (the top comment and its replies)."""
    with state.engine.connect() as connection:
        thread = comment_thread(connection, group_id, comment_id)
        rows = [thread.comment, thread.top, *thread.replies]
        comment_out, top_out, *replies_out = comments_out(connection, rows)
    return models.CommentThread(
        comment=comment_out,
        post=post_out(thread.post) if thread.post is not None else None,
        top=top_out,
        replies=replies_out,
        replies_total=thread.replies_total,
    )
